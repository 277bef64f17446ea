//! `rebuild-projections`, the same procedure and words for both apps: one
//! transaction replays the log in log order into what the projections must
//! be ([`Projections`]), which either replace the tables' rows (after a
//! lock, so writers that commit meanwhile wait and then write their
//! complete stream state on top) or, with `--verify`, are compared with the
//! tables in a repeatable-read snapshot that is rolled back at the end, so a
//! verification never changes the database. A second connection reads the
//! log in the same snapshot (exported by the first), a page at a time,
//! while the first writes; after each page a projection may write the rows
//! it has finished and forget them, so memory need not grow with the log.
//! It shows a progress bar while the log is replayed, then one summary
//! line, then either "projections rebuilt", "projections match the log", or
//! one line per difference and their count (exit code 1).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::future::Future;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokio::sync::mpsc;

use crate::db::DatabaseSettings;

/// Events read per page of the replay.
const PAGE: i64 = 10_000;

/// What a rebuild or a verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// Events replayed.
    pub events: u64,
    /// Projection rows the log yields.
    pub rows: usize,
    /// How the projections differ from the log (verify only).
    pub differences: Vec<String>,
}

/// One event of the log, as a replay reads it.
#[derive(Debug, sqlx::FromRow)]
pub struct LoggedEvent {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub position: i64,
    /// The event's JSON text.
    pub payload: String,
}

/// An app's projections as a rebuild sees them: what the log yields,
/// written over or compared with what the tables hold.
pub trait Projections: Sized {
    /// The aggregate types whose events are replayed.
    const AGGREGATE_TYPES: &'static [&'static str];
    /// The lock a rebuild takes first, so writers wait for the new rows.
    const LOCK: &'static str;

    /// Starts a rebuild, or with `verify` a verification, in `conn`'s
    /// transaction, before the first event.
    fn begin(conn: &mut PgConnection, verify: bool) -> impl Future<Output = anyhow::Result<Self>>;

    /// Applies one event; events come in log order, so each stream's in
    /// order of sequence.
    fn apply(&mut self, event: LoggedEvent) -> anyhow::Result<()>;

    /// Called after each page of events: may write the rows finished so far
    /// (to the tables, or where a verification compares them) and forget them.
    fn flush(&mut self, conn: &mut PgConnection) -> impl Future<Output = anyhow::Result<()>>;

    /// Called after the last event: writes the rest and returns the number
    /// of projection rows the log yields and, when verifying, how the
    /// tables differ from them.
    fn finish(
        self,
        conn: &mut PgConnection,
    ) -> impl Future<Output = anyhow::Result<(usize, Vec<String>)>>;
}

/// The whole `rebuild-projections` subcommand for the projections `P`: the
/// connection, the progress bar, the report and the exit code.
pub async fn command<P: Projections>(
    database: &DatabaseSettings,
    verify: bool,
) -> anyhow::Result<ExitCode> {
    let pool = database.pool(2)?;
    let bar = progress_bar(count_events(&pool).await?);
    let started = Instant::now();
    let report = run::<P>(&pool, verify, &|replayed| bar.set_position(replayed)).await?;
    bar.finish_and_clear();
    Ok(print(&report, verify, started.elapsed()))
}

/// Rebuilds (or, with `verify`, checks) the projections `P`; `progress` is
/// called with the number of events replayed so far. It uses two of
/// `pool`'s connections: the transaction that writes (or compares), and one
/// that reads the log in the same snapshot meanwhile.
pub async fn run<P: Projections>(
    pool: &PgPool,
    verify: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<RebuildReport> {
    let mut tx = begin(pool, verify, P::LOCK).await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *tx)
        .await?;
    let mut projections = P::begin(&mut tx, verify).await?;
    let (pages_in, pages) = mpsc::channel(2);
    let (events, read) = tokio::join!(
        replay(&mut projections, pages, &mut tx, progress),
        read(pool, &snapshot, P::AGGREGATE_TYPES, pages_in),
    );
    let events = events?;
    read?;
    let (rows, differences) = projections.finish(&mut tx).await?;
    if verify {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(RebuildReport {
        events,
        rows,
        differences,
    })
}

/// Applies the pages of events as they come, flushing after each; fails if
/// a stream's events are not in order of sequence. `progress` is called
/// after every page.
async fn replay<P: Projections>(
    projections: &mut P,
    mut pages: mpsc::Receiver<Vec<LoggedEvent>>,
    conn: &mut PgConnection,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<u64> {
    let mut replayed = 0u64;
    let mut last_sequence: LastSequences = P::AGGREGATE_TYPES
        .iter()
        .map(|kind| (*kind, HashMap::new()))
        .collect();
    while let Some(page) = pages.recv().await {
        for event in page {
            in_order(&mut last_sequence, &event)?;
            projections.apply(event)?;
            replayed += 1;
        }
        projections.flush(&mut *conn).await?;
        progress(replayed);
    }
    Ok(replayed)
}

/// Reads every event of `types` in log order, a page at a time, in the
/// exported `snapshot` (the rebuild's own), and sends the pages to `pages`
/// until they end or nobody takes them any more.
async fn read(
    pool: &PgPool,
    snapshot: &str,
    types: &'static [&'static str],
    pages: mpsc::Sender<Vec<LoggedEvent>>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
        "unexpected snapshot id {snapshot:?}"
    );
    let mut tx = pool.begin().await?;
    sqlx::raw_sql(&format!(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;
         SET TRANSACTION SNAPSHOT '{snapshot}'"
    ))
    .execute(&mut *tx)
    .await?;
    let mut after = i64::MIN;
    loop {
        let page = sqlx::query_as::<_, LoggedEvent>(
            "SELECT aggregate_type, aggregate_id, sequence, position, payload::text AS payload
               FROM events
              WHERE aggregate_type = ANY($1) AND position > $2
              ORDER BY position LIMIT $3",
        )
        .bind(types)
        .bind(after)
        .bind(PAGE)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        let full = page.len() == usize::try_from(PAGE)?;
        if pages.send(page).await.is_err() || !full {
            break;
        }
    }
    tx.rollback().await?;
    Ok(())
}

/// Each stream's last sequence so far, by aggregate type and id.
type LastSequences = HashMap<&'static str, HashMap<String, i64>>;

/// Records `event`'s sequence as its stream's last; fails unless it is
/// after the stream's previous one (or its type is not replayed).
fn in_order(last: &mut LastSequences, event: &LoggedEvent) -> anyhow::Result<()> {
    let Some(streams) = last.get_mut(event.aggregate_type.as_str()) else {
        anyhow::bail!("unexpected aggregate type {}", event.aggregate_type);
    };
    match streams.get_mut(&event.aggregate_id) {
        Some(previous) if *previous >= event.sequence => anyhow::bail!(
            "{} {}: sequence {} at position {} comes after sequence {previous} in the log",
            event.aggregate_type,
            event.aggregate_id,
            event.sequence,
            event.position,
        ),
        Some(previous) => *previous = event.sequence,
        None => {
            streams.insert(event.aggregate_id.clone(), event.sequence);
        }
    }
    Ok(())
}

/// Begins a rebuild's transaction: a repeatable-read snapshot to verify (so
/// changes committed meanwhile are not differences; it is rolled back), or,
/// to rebuild, one that first runs `lock` so writers wait for the new rows.
async fn begin(
    pool: &PgPool,
    verify: bool,
    lock: &'static str,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let first = if verify {
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"
    } else {
        lock
    };
    sqlx::query(first).execute(&mut *tx).await?;
    Ok(tx)
}

/// The number of events in the log, for the progress bar's length.
async fn count_events(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(count).unwrap_or_default())
}

/// A progress bar over `total` events.
fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} events ({per_sec}, {eta} left)")
    {
        bar.set_style(style);
    }
    bar
}

/// The rows of `table` that differ between what the log yields
/// (`expected`) and what the table holds (`actual`), keyed alike.
pub fn differences<T: PartialEq + Debug>(
    table: &str,
    expected: &BTreeMap<String, T>,
    actual: &BTreeMap<String, T>,
) -> Vec<String> {
    let mut found = Vec::new();
    for (key, want) in expected {
        match actual.get(key) {
            None => found.push(format!("{table} {key}: missing, log says {want:?}")),
            Some(got) if got != want => {
                found.push(format!("{table} {key}: is {got:?}, log says {want:?}"));
            }
            Some(_) => {}
        }
    }
    for key in actual.keys().filter(|key| !expected.contains_key(*key)) {
        found.push(format!("{table} {key}: not in the log"));
    }
    found
}

/// Prints the report and returns the exit code: 1 when a verification
/// found differences.
pub fn print(report: &RebuildReport, verify: bool, elapsed: Duration) -> ExitCode {
    let seconds = elapsed.as_secs_f64().max(1e-6);
    #[allow(clippy::cast_precision_loss)]
    let rate = report.events as f64 / seconds;
    println!(
        "replayed {} events in {seconds:.2}s ({rate:.0} events/s): {} projection rows",
        report.events, report.rows
    );
    if !verify {
        println!("projections rebuilt");
        return ExitCode::SUCCESS;
    }
    if report.differences.is_empty() {
        println!("projections match the log");
        return ExitCode::SUCCESS;
    }
    for difference in &report.differences {
        println!("difference: {difference}");
    }
    println!("{} differences", report.differences.len());
    ExitCode::FAILURE
}
