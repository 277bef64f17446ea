//! `store-bench`: how fast `store-app` takes stock updates over HTTP, next to
//! what PostgreSQL itself does for the same writes (pgbench), and whether a
//! SKU with a long event stream is slower to update than a fresh one.
//!
//! It creates a throw-away database, runs the release `store-app` binary
//! against it (`migrate`, `populate`, `serve`), measures, and always drops
//! the database and stops the store at the end, also on error or Ctrl-C.
//! See `BENCHMARKS.md` at the workspace root for results.

mod environment;
mod load;
mod report;
mod update_script;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bench::StackArgs;
use bench::pgbench::{self, Pgbench};
use bench::stats::{Summary, fmt_ms, load_average};
use bench::table::Table;
use clap::Parser;

use crate::environment::{BenchEnv, FRESH_SKU, LONG_SKU};

/// Benchmarks `store-app` updates against PostgreSQL's own rate.
#[derive(Debug, Parser)]
#[command(name = "store-bench", version)]
struct Cli {
    #[command(flatten)]
    stack: StackArgs,
    /// Connection counts to measure, for both the store and pgbench.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    connections: Vec<usize>,
    /// Measured seconds per connection count (store and pgbench alike).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Unmeasured seconds before each store measurement.
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// pgbench binary (default: PostgreSQL 15's, else `pgbench` on PATH).
    #[arg(long)]
    pgbench: Option<PathBuf>,
    /// pgbench worker threads (`-j`).
    #[arg(long, default_value_t = 2)]
    pgbench_jobs: usize,
    /// Events appended to one SKU for the long-stream measurement.
    #[arg(long, default_value_t = 50_000)]
    long_events: u64,
    /// Connections appending the long stream.
    #[arg(long, default_value_t = 32)]
    long_connections: usize,
    /// Give up appending the long stream after this many seconds (the
    /// results then say how many events were appended).
    #[arg(long, default_value_t = 3600)]
    long_timeout: u64,
    /// Sequential updates measured on each of the long and the fresh SKU.
    #[arg(long, default_value_t = 2_000)]
    sample_updates: usize,
    /// Skip the long-stream part.
    #[arg(long)]
    skip_long_stream: bool,
    /// Spread the throughput load over this many generated SKUs
    /// (`BENCH-SKU-0001`, …) instead of the 10 sample ones, to tell the
    /// path's cost from per-SKU contention.
    #[arg(long)]
    skus: Option<usize>,
    /// The store's `LOCAL_AUTH`: `required` (every update carries a token
    /// the store issued, checked on each request) or `off` (no token), to
    /// see what the check costs.
    #[arg(long, default_value = "required", value_parser = ["required", "off"])]
    local_auth: String,
}

fn main() -> std::process::ExitCode {
    bench::run_main("store-bench", run(Cli::parse()))
}

/// Sets up, measures, and tears down whatever happens in between.
async fn run(cli: Cli) -> anyhow::Result<()> {
    let pgbench = Pgbench::locate(cli.pgbench.as_deref()).await?;
    let mut env = BenchEnv::new(&cli.stack, cli.local_auth == "required", cli.skus)?;
    let outcome = bench::until_interrupted(async {
        env.start().await?;
        measure(&cli, &env, &pgbench).await
    })
    .await;
    if let Err(error) = &outcome {
        eprintln!("\nerror: {error:#}");
        env.print_store_log_tail(30);
    }
    env.teardown().await;
    outcome
}

async fn measure(cli: &Cli, env: &BenchEnv, pgbench: &Pgbench) -> anyhow::Result<()> {
    let duration = Duration::from_secs(cli.duration);
    let warmup = Duration::from_secs(cli.warmup);
    println!("# store-bench results\n");
    println!("- PostgreSQL: {}", env.server_version().await?);
    println!(
        "- pgbench: {} ({})",
        pgbench.version,
        pgbench.path.display()
    );
    println!(
        "- store: {} (database {}), LOCAL_AUTH={}",
        env.base_url(),
        env.db_name(),
        cli.local_auth
    );
    println!("- load average at start: {}", load_average());
    println!(
        "- per connection count: pgbench -T {}, then the store for {} s after a {} s warm-up\n",
        cli.duration, cli.duration, cli.warmup
    );

    let skus = env.load_skus();
    println!("- SKUs under load: {}\n", skus.len());
    update_script::check_snapshot_shape(&env.snapshot_payload(skus[0]).await?)?;
    let script = update_script::write_script(env.tmp_dir(), skus)?;
    env.execute(update_script::MIN_WRITES_SETUP).await?;
    let min_script = update_script::write_min_writes_script(env.tmp_dir(), skus)?;
    let mut rows = Vec::new();
    for &connections in &cli.connections {
        anyhow::ensure!(connections > 0, "--connections must be positive");
        let pg_backlog = env.backlog(skus).await?;
        eprintln!(
            "[pgbench] -c {connections} -j {} -T {}",
            cli.pgbench_jobs, cli.duration
        );
        let (pg, pg_cpu) = run_pgbench(cli, env, pgbench, &script, connections).await?;
        eprintln!("[pgbench] minimum writes, -c {connections}");
        let (min, min_cpu) = run_pgbench(cli, env, pgbench, &min_script, connections).await?;
        let store_backlog = env.backlog(skus).await?;
        eprintln!("[store] {connections} connections for {} s", cli.duration);
        let groups_before = env.group_commits().await?;
        let http = load::fixed_duration(&env.target(), skus, connections, warmup, duration).await?;
        let group_commits = env.group_commits().await?.since(groups_before);
        eprintln!(
            "[store] {connections} connections: {:.0} updates/s, pgbench {:.0} tps; load {}",
            http.throughput(),
            pg.tps,
            load_average()
        );
        rows.push(report::Level {
            connections,
            http,
            pgbench: pg,
            pg_cpu,
            min_writes: min,
            min_cpu,
            store_backlog,
            pg_backlog,
            group_commits,
        });
    }
    report::throughput_tables(&rows);
    report::cpu_per_update(&rows);
    report::minimum_writes(&rows);
    report::pgbench_statements(&rows);
    println!(
        "- load average after the throughput parts: {}\n",
        load_average()
    );
    if let Some(mib) = env.store_peak_rss_mib() {
        println!("- store-app peak RSS (VmHWM) so far: {mib:.1} MiB (target < 100 MB)\n");
    }

    if !cli.skip_long_stream {
        long_stream(cli, env).await?;
    }
    println!("- load average at the end: {}", load_average());
    Ok(())
}

/// Runs `script` with pgbench at `connections` clients; its outcome and
/// the CPU spent by command name over a window inside the run (pgbench's
/// backends end with it, so the window ends 1 s before pgbench does).
async fn run_pgbench(
    cli: &Cli,
    env: &BenchEnv,
    pgbench: &Pgbench,
    script: &std::path::Path,
    connections: usize,
) -> anyhow::Result<(pgbench::PgbenchOutcome, report::CpuWindow)> {
    let window = Duration::from_secs(cli.duration.saturating_sub(2).max(1));
    let cpu = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = bench::cpu::every_process();
        tokio::time::sleep(window).await;
        bench::cpu::spent_by_name(&before, &bench::cpu::every_process())
    });
    let outcome = pgbench
        .run(&pgbench::Run {
            script,
            db_url: env.db_url(),
            clients: connections,
            jobs: cli.pgbench_jobs,
            seconds: cli.duration,
            defines: Vec::new(),
        })
        .await
        .with_context(|| format!("pgbench {} at {connections} connections", script.display()))?;
    Ok((outcome, (cpu.await?, window)))
}

/// Part 4: append a long stream to one SKU, then compare update latency on
/// it with a SKU that has only its registration.
async fn long_stream(cli: &Cli, env: &BenchEnv) -> anyhow::Result<()> {
    eprintln!(
        "[long stream] appending {} events to {LONG_SKU} over {} connections (limit {} s)",
        cli.long_events, cli.long_connections, cli.long_timeout
    );
    let append = load::append_stream(
        &env.target(),
        LONG_SKU,
        cli.long_events,
        cli.long_connections,
        Duration::from_secs(cli.long_timeout),
    )
    .await?;
    eprintln!(
        "[long stream] comparing {} sequential updates each on {LONG_SKU} and {FRESH_SKU}",
        cli.sample_updates
    );
    let before = env.stream_sizes(&[LONG_SKU, FRESH_SKU]).await?;
    let (long, fresh) =
        load::alternating_sample(&env.target(), LONG_SKU, FRESH_SKU, cli.sample_updates).await?;
    let after = env.stream_sizes(&[LONG_SKU, FRESH_SKU]).await?;

    println!("## Long stream\n");
    println!(
        "Appended {} of {} events to `{LONG_SKU}` over {} connections in {:.1} s \
         ({:.0} events/s, {} errors{}).\n",
        append.appended,
        cli.long_events,
        cli.long_connections,
        append.elapsed.as_secs_f64(),
        append.appended as f64 / append.elapsed.as_secs_f64().max(1e-9),
        append.errors.total(),
        if append.timed_out {
            ", STOPPED AT THE TIME LIMIT"
        } else {
            ""
        }
    );
    if !append.errors.is_empty() {
        println!("Errors: {}\n", append.errors);
    }
    let mut buckets = Table::new(&["events already on the SKU", "updates", "p50", "p99", "max"]);
    for bucket in &append.buckets {
        buckets.row(vec![
            bucket.label.clone(),
            bucket.summary.count.to_string(),
            fmt_ms(bucket.summary.p50),
            fmt_ms(bucket.summary.p99),
            fmt_ms(bucket.summary.max),
        ]);
    }
    println!(
        "Append latency while the stream grows ({} concurrent writers on one SKU):\n",
        cli.long_connections
    );
    println!("{buckets}");

    let mut sizes = Table::new(&[
        "SKU",
        "events (before → after sample)",
        "pending changes",
        "snapshot payload bytes (text)",
    ]);
    for (b, a) in before.iter().zip(&after) {
        sizes.row(vec![
            format!("`{}`", b.sku),
            format!("{} → {}", b.events, a.events),
            format!("{} → {}", b.pending, a.pending),
            format!("{} → {}", b.payload_bytes, a.payload_bytes),
        ]);
    }
    println!("{sizes}");

    let mut table = Table::new(&["SKU", "updates", "errors", "p50", "p99", "max"]);
    for (name, s) in [(LONG_SKU, &long), (FRESH_SKU, &fresh)] {
        table.row(vec![
            format!("`{name}`"),
            s.count.to_string(),
            s.errors.to_string(),
            fmt_ms(s.p50),
            fmt_ms(s.p99),
            fmt_ms(s.max),
        ]);
    }
    println!(
        "Single connection, {} sequential updates per SKU, alternating between the two:\n",
        cli.sample_updates
    );
    println!("{table}");
    let ratio = ratio(&long, &fresh);
    println!(
        "p50 long / fresh = {ratio:.2}× (target ≤ 1.5×: {}); p99 long / fresh = {:.2}×\n",
        if ratio <= 1.5 && !append.timed_out {
            "met"
        } else {
            "NOT met"
        },
        long.p99.as_secs_f64() / fresh.p99.as_secs_f64().max(1e-9)
    );
    Ok(())
}

fn ratio(long: &Summary, fresh: &Summary) -> f64 {
    long.p50.as_secs_f64() / fresh.p50.as_secs_f64().max(1e-9)
}
