//! `rebuild-projections`, the same procedure and words for both apps: one
//! transaction replays the log into what the projections must be
//! ([`Projections`]), then either writes them (after a lock, so writers that
//! commit meanwhile wait and then write their complete stream state on top)
//! or, with `--verify`, compares them with the tables in a read-only
//! snapshot. It shows a progress bar while the log is replayed, then one
//! summary line, then either "projections rebuilt", "projections match the
//! log", or one line per difference and their count (exit code 1).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::db::DatabaseSettings;

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
    pub payload: serde_json::Value,
}

/// An app's projections as a rebuild sees them: what the log yields,
/// written over or compared with what the tables hold.
pub trait Projections: Default {
    /// The aggregate types whose events are replayed.
    const AGGREGATE_TYPES: &'static [&'static str];
    /// The lock a rebuild takes first, so writers wait for the new rows.
    const LOCK: &'static str;

    /// Applies one event; each stream's events come in order.
    fn apply(&mut self, event: LoggedEvent) -> anyhow::Result<()>;

    /// The number of projection rows the log yields.
    fn rows(&self) -> usize;

    /// How the tables differ from what the log yields.
    fn differences(
        &self,
        conn: &mut PgConnection,
    ) -> impl Future<Output = anyhow::Result<Vec<String>>>;

    /// Replaces the tables' rows with what the log yields.
    fn write(&self, conn: &mut PgConnection) -> impl Future<Output = anyhow::Result<()>>;
}

/// The whole `rebuild-projections` subcommand for the projections `P`: the
/// connection, the progress bar, the report and the exit code.
pub async fn command<P: Projections>(
    database: &DatabaseSettings,
    verify: bool,
) -> anyhow::Result<ExitCode> {
    let pool = database.pool(1)?;
    let bar = progress_bar(count_events(&pool).await?);
    let started = Instant::now();
    let report = run::<P>(&pool, verify, &|replayed| bar.set_position(replayed)).await?;
    bar.finish_and_clear();
    Ok(print(&report, verify, started.elapsed()))
}

/// Rebuilds (or, with `verify`, checks) the projections `P`; `progress` is
/// called with the number of events replayed so far.
pub async fn run<P: Projections>(
    pool: &PgPool,
    verify: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<RebuildReport> {
    let mut tx = begin(pool, verify, P::LOCK).await?;
    let (projections, events) = replay::<P>(&mut tx, progress).await?;
    let differences = if verify {
        projections.differences(&mut tx).await?
    } else {
        projections.write(&mut tx).await?;
        Vec::new()
    };
    tx.commit().await?;
    Ok(RebuildReport {
        events,
        rows: projections.rows(),
        differences,
    })
}

/// Replays every event of `P`'s aggregate types, stream by stream;
/// `progress` is called every 1,000 events and at the end.
async fn replay<P: Projections>(
    conn: &mut PgConnection,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<(P, u64)> {
    let mut projections = P::default();
    let mut replayed = 0u64;
    let mut events = sqlx::query_as::<_, LoggedEvent>(
        "SELECT aggregate_type, aggregate_id, sequence, position, payload FROM events
          WHERE aggregate_type = ANY($1) ORDER BY aggregate_type, aggregate_id, sequence",
    )
    .bind(P::AGGREGATE_TYPES)
    .fetch(conn);
    while let Some(event) = events.try_next().await? {
        projections.apply(event)?;
        replayed += 1;
        if replayed.is_multiple_of(1_000) {
            progress(replayed);
        }
    }
    progress(replayed);
    Ok((projections, replayed))
}

/// Begins a rebuild's transaction: a read-only repeatable-read snapshot to
/// verify (so changes committed meanwhile are not differences), or, to
/// rebuild, one that first runs `lock` so writers wait for the new rows.
async fn begin(
    pool: &PgPool,
    verify: bool,
    lock: &'static str,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let first = if verify {
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
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
