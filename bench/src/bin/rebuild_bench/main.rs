//! `rebuild_bench`: how fast the store's `rebuild-projections` replays a
//! long log, and with how much memory, next to PostgreSQL writing the same
//! projection rows itself (issue 15: ≥ 100,000 events/s, peak RSS under
//! 100 MB, on a log of 1,000,000 events).
//!
//! It creates a throw-away database `bench_<uuid>`, migrates it with the
//! release `store-app` (`migrate`), fills the log in SQL (`log`: 1,000,000
//! events over 1,000 SKUs by default), then runs `store-app
//! rebuild-projections` as a child process, timing it and reading its peak
//! resident memory (`child`), then `rebuild-projections --verify` the same
//! way (which must find the rebuilt tables equal to the log), and last the
//! baseline (`baseline`): one `INSERT … SELECT` per projection from the
//! events into scratch tables of the same shape, checked to hold exactly
//! the rows the rebuild wrote. The database is dropped at the end, also on
//! error or Ctrl-C.
//!
//! ```sh
//! cargo build --release -p store-app -p bench
//! target/release/rebuild_bench [--events 1000000] [--skus 1000]
//! ```

mod baseline;
mod child;
mod log;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use bench::StackArgs;
use bench::binary::Binary;
use bench::database;
use bench::scratch::Scratch;
use bench::stats::load_average;
use bench::table::Table;
use clap::Parser;
use sqlx::{Connection, PgConnection};

/// Issue 15's target rate.
const TARGET_EVENTS_PER_SECOND: f64 = 100_000.0;

/// Issue 15's memory target, bytes.
const TARGET_PEAK_BYTES: u64 = 100_000_000;

/// Benchmarks `store-app rebuild-projections` against PostgreSQL's own
/// `INSERT … SELECT` of the same rows.
#[derive(Debug, Parser)]
#[command(name = "rebuild_bench", version)]
struct Cli {
    #[command(flatten)]
    stack: StackArgs,
    /// Events in the store's log.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// SKUs the events are spread over.
    #[arg(long, default_value_t = 1_000)]
    skus: u64,
}

fn main() -> ExitCode {
    bench::run_main("rebuild-bench", run(Cli::parse()))
}

/// Sets up, measures, and drops the database whatever happens in between.
async fn run(cli: Cli) -> anyhow::Result<()> {
    anyhow::ensure!(cli.skus > 0 && cli.skus <= 9_999, "--skus must be 1..=9999");
    let store_app = Binary::find(&cli.stack.bin_dir, "store-app", "warn")?.isolated();
    let mut scratch = Scratch::new(&cli.stack, "rebuild-bench", &[])?;
    let outcome = bench::until_interrupted(async {
        scratch.databases.create().await?;
        measure(&cli, &store_app, scratch.databases.url(0)).await
    })
    .await;
    scratch.remove(&[], &[], false).await;
    outcome
}

async fn measure(cli: &Cli, store_app: &Binary, url: &str) -> anyhow::Result<()> {
    store_app
        .run(&["migrate"], &[("DATABASE_URL", url.to_owned())])
        .await?;
    let mut conn = PgConnection::connect(url).await?;
    let started = Instant::now();
    let events = log::fill(&mut conn, cli.events, cli.skus).await?;
    eprintln!(
        "[log] {events} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    settle(&mut conn).await?;
    println!("# rebuild-bench results\n");
    println!("- PostgreSQL {}", database::server_version(url).await?);
    println!("- {events} events over {} SKUs", cli.skus);
    println!("- load average at start: {}\n", load_average());

    let rebuild = child::run(store_app, &["rebuild-projections"], url).await?;
    eprintln!("[rebuild] {}", rebuild.stdout.trim());
    let verify = child::run(store_app, &["rebuild-projections", "--verify"], url).await?;
    eprintln!("[verify] {}", verify.stdout.trim());
    anyhow::ensure!(
        verify.stdout.contains("projections match the log"),
        "the rebuilt projections do not match the log:\n{}",
        verify.stdout
    );
    settle(&mut conn).await?;
    let baseline = baseline::run(&mut conn).await?;
    let differing = baseline::differences(&mut conn).await?;
    anyhow::ensure!(
        differing == 0,
        "the baseline's rows differ from the rebuilt ones in {differing} rows"
    );
    conn.close().await.ok();

    let mut table = Table::new(&["what", "seconds", "events/s", "peak RSS"]);
    let rate = |elapsed: Duration| rate(events, elapsed);
    table.row(vec![
        "`store-app rebuild-projections`".into(),
        format!("{:.2}", rebuild.elapsed.as_secs_f64()),
        format!("{:.0}", rate(rebuild.elapsed)),
        mib(rebuild.peak_kib),
    ]);
    table.row(vec![
        "`store-app rebuild-projections --verify`".into(),
        format!("{:.2}", verify.elapsed.as_secs_f64()),
        format!("{:.0}", rate(verify.elapsed)),
        mib(verify.peak_kib),
    ]);
    table.row(vec![
        format!("PostgreSQL `INSERT … SELECT` ({} rows)", baseline.rows),
        format!("{:.2}", baseline.elapsed.as_secs_f64()),
        format!("{:.0}", rate(baseline.elapsed)),
        "—".into(),
    ]);
    print!("{table}");
    println!("\nstore-app's own summary: {}", rebuild.stdout.trim());
    println!(
        "\n- rebuild ÷ INSERT … SELECT: {:.2}× the rate",
        baseline.elapsed.as_secs_f64() / rebuild.elapsed.as_secs_f64().max(1e-9)
    );
    let fast = rate(rebuild.elapsed) >= TARGET_EVENTS_PER_SECOND;
    let small = rebuild.peak_kib.max(verify.peak_kib) * 1024 < TARGET_PEAK_BYTES;
    println!(
        "- target ≥ 100,000 events/s: {}; peak RSS under 100 MB (rebuild and verify): {}",
        met(fast),
        met(small)
    );
    println!("- the baseline's rows equal the rebuilt ones; --verify: projections match the log");
    println!("- load average at the end: {}", load_average());
    Ok(())
}

/// Statistics and a checkpoint before a measurement, so neither side pays
/// for the fill's.
async fn settle(conn: &mut PgConnection) -> anyhow::Result<()> {
    for sql in ["VACUUM ANALYZE", "CHECKPOINT"] {
        sqlx::raw_sql(sql).execute(&mut *conn).await?;
    }
    Ok(())
}

fn rate(events: u64, elapsed: Duration) -> f64 {
    events as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}
