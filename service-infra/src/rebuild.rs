//! What `rebuild-projections` says, in the same words and form for both
//! apps: a progress bar while the log is replayed, then one summary line,
//! then either "projections rebuilt", "projections match the log", or one
//! line per difference and their count (exit code 1).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sqlx::{PgPool, Postgres, Transaction};

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

/// The whole `rebuild-projections` subcommand around an app's `run`
/// (which replays the log, reporting progress, then rebuilds or verifies):
/// the progress bar, the report and the exit code.
pub async fn command<Fut>(
    pool: PgPool,
    verify: bool,
    run: impl FnOnce(PgPool, bool, ProgressBar) -> Fut,
) -> anyhow::Result<ExitCode>
where
    Fut: Future<Output = anyhow::Result<RebuildReport>>,
{
    let bar = progress_bar(count_events(&pool).await?);
    let started = Instant::now();
    let report = run(pool, verify, bar.clone()).await?;
    bar.finish_and_clear();
    Ok(print(&report, verify, started.elapsed()))
}

/// Begins a rebuild's transaction: a read-only repeatable-read snapshot to
/// verify (so changes committed meanwhile are not differences), or, to
/// rebuild, one that first runs `lock` so writers wait for the new rows.
pub async fn begin(
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
pub async fn count_events(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(count).unwrap_or_default())
}

/// A progress bar over `total` events.
pub fn progress_bar(total: u64) -> ProgressBar {
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
