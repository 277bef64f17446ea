//! `sync_bench`: how fast a store change reaches central through
//! `sync-worker`, and how fast the worker drains a backlog.
//!
//! It starts a whole stack from the release binaries, as the e2e harness
//! does: central, `STORE-001` and `STORE-002` and one worker, each on a
//! fresh database (`bench_<uuid>_*`), with a signing key, a worker client
//! and a private `AMQP_EXCHANGE`; a generated catalogue (stock 1,000,000)
//! on both sides. Then:
//!
//! 1. Propagation latency: open-loop updates at a steady rate (100/s, then
//!    500/s; tokio-interval paced, alternating stores, random SKU and ±1,
//!    each with a client-chosen UUIDv7 operation id). Latency of an update
//!    = `recorded_at` of its `ChangeApplied` at central (central's database;
//!    the start of the batch's transaction) − the moment its 201 reached the
//!    client. Where the time goes: the worker's `sync done` log lines and
//!    the services' `http_request_duration_seconds` over the phase.
//! 2. Drain: SIGTERM the worker, make `--drain` updates with 32 connections,
//!    start the worker and time until central holds every one (and until
//!    the stores have recorded every outcome).
//!
//! Each phase starts with `ANALYZE` of the three databases, as autovacuum
//! keeps statistics on a system in service (`--no-analyze`: tables without
//! statistics, as right after `migrate`). Each phase reports the CPU every
//! process on the machine used (the stack's own and any other), so
//! interference from other work shows.
//!
//! Everything is removed at the end (processes killed, databases dropped,
//! broker names deleted), also on error or Ctrl-C.
//!
//! The modules: `stack` (starting and removing the stack), `probes` (what
//! the databases and the broker say), `observe` and `metrics` (where the
//! time went), `updates` (one store update), `latency` and `drain` (the two
//! phases).
//!
//! ```sh
//! cargo build --release --bins
//! target/release/sync_bench [--rates 100,500] [--duration 20] [--drain 100000]
//! ```

mod drain;
mod latency;
mod metrics;
mod observe;
mod probes;
mod stack;
mod updates;

use std::process::ExitCode;

use bench::StackArgs;
use bench::database;
use bench::stats::load_average;
use clap::Parser;

use tokio::process::Child;

use crate::stack::Stack;

/// The two stores of the stack.
const STORES: [&str; 2] = ["STORE-001", "STORE-002"];

/// Benchmarks propagation latency and backlog drain of the sync worker.
#[derive(Debug, Parser)]
#[command(name = "sync_bench", version)]
struct Cli {
    #[command(flatten)]
    stack: StackArgs,
    /// Steady update rates (per second, over both stores) to measure.
    #[arg(long, value_delimiter = ',', default_value = "100,500")]
    rates: Vec<u32>,
    /// Seconds of load per rate.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Pending changes to drain (0 skips the drain).
    #[arg(long, default_value_t = 100_000)]
    drain: usize,
    /// Connections creating the backlog.
    #[arg(long, default_value_t = 32)]
    drain_connections: usize,
    /// Give up waiting for the drain after this many seconds.
    #[arg(long, default_value_t = 1800)]
    drain_timeout: u64,
    /// SKUs in the catalogue of each store.
    #[arg(long, default_value_t = 100)]
    skus: usize,
    /// The worker's `BATCH_SIZE`.
    #[arg(long, default_value_t = 500)]
    batch_size: u32,
    /// Keep the processes' logs (their directory is printed).
    #[arg(long)]
    keep_logs: bool,
    /// Do not `ANALYZE` the three databases before each phase: their
    /// tables then have no statistics until autovacuum gets to them, as
    /// in freshly migrated databases.
    #[arg(long)]
    no_analyze: bool,
}

fn main() -> ExitCode {
    bench::run_main("sync_bench", run(Cli::parse()))
}

/// Sets up, measures, and tears down whatever happens in between; the
/// processes' logs are kept on failure (or with `--keep-logs`).
async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut stack = Stack::new(&cli)?;
    let outcome = bench::until_interrupted(async {
        stack.start(&cli).await?;
        measure(&cli, &mut stack).await
    })
    .await;
    stack.teardown(cli.keep_logs || outcome.is_err()).await;
    outcome
}

/// Prints the conditions, then runs the phases.
async fn measure(cli: &Cli, stack: &mut Stack) -> anyhow::Result<()> {
    let version = database::server_version(stack.central_db_url()).await?;
    println!("# sync_bench results\n");
    println!(
        "- PostgreSQL {version}; stack: central, {} and 1 worker (BATCH_SIZE {}), {} SKUs per store, RUST_LOG info",
        STORES.join(", "),
        cli.batch_size,
        cli.skus
    );
    println!(
        "- {}",
        if cli.no_analyze {
            "no ANALYZE before the phases (--no-analyze): tables without statistics"
        } else {
            "ANALYZE of the three databases before each phase"
        }
    );
    println!("- load average at start: {}\n", load_average());
    if !cli.rates.is_empty() {
        println!(
            "## Propagation latency (201 at the client → `recorded_at` of the `ChangeApplied` at central)\n"
        );
    }
    for &rate in &cli.rates {
        anyhow::ensure!(rate > 0, "rates must be positive");
        latency::run(cli, stack, rate).await?;
    }
    if cli.drain > 0 {
        drain::run(cli, stack).await?;
    }
    print_peak_memory(stack);
    Ok(())
}

/// Each service's peak resident memory over the whole run (target: under
/// 100 MB each).
fn print_peak_memory(stack: &Stack) {
    let names = ["central-app"].into_iter().chain(STORES.iter().copied());
    let services = names
        .zip(&stack.services)
        .map(|(name, child)| (name, child.id()));
    let worker = ("sync-worker", stack.worker.as_ref().and_then(Child::id));
    let peaks: Vec<String> = services
        .chain([worker])
        .filter_map(|(name, pid)| {
            let kib = bench::cpu::peak_rss_kib(pid?)?;
            Some(format!("{name} {:.1} MiB", kib as f64 / 1024.0))
        })
        .collect();
    println!("\n- peak RSS (VmHWM) over the run: {}", peaks.join(", "));
}
