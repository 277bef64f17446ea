//! `central_bench`: how many store changes `central-app` applies per second
//! through `POST /v1/sync/batch` at batch sizes 1, 100 and 500, from one
//! connection (batches one after another, as one worker pushes one store)
//! and from several connections (each on stores of its own), next to what
//! PostgreSQL itself does for the same writes (a pgbench script with one
//! batch's statements, in the same run, on the same database).
//!
//! It creates a throw-away database `bench_<uuid>`, runs the release
//! `central-app` binary (`keys generate`, `migrate`, `populate --stores`
//! with a generated catalogue, `clients create`, `serve` on a free port with
//! a private `AMQP_EXCHANGE`), measures, and always stops the server and
//! drops the database at the end, also on error or Ctrl-C.
//!
//! Every change is unconditional (+1 or -1, stock 1,000,000) with a fresh
//! UUIDv7; change `i` of a batch goes to SKU `(offset + i) mod --skus` of
//! the batch's store, so a 500-change batch over 250 SKUs touches 250
//! streams, two changes each. The pgbench script does exactly that too.
//! Every measurement (central's and pgbench's) starts after `VACUUM
//! ANALYZE` and `CHECKPOINT`, so both start from the same state and the
//! planner has statistics; `--no-vacuum` leaves the tables as a freshly
//! migrated database has them (no statistics until autovacuum runs).
//! Besides changes/s and batch latency it reports the CPU each 1,000
//! changes cost in central-app, in the database's PostgreSQL backends and
//! in this load generator (which runs on the same machine).
//!
//! The modules: `server` (the database and the running central-app),
//! `push` (the load), `cpu` (what a measurement cost), `batch_script`
//! (pgbench), `report` (the tables).
//!
//! ```sh
//! cargo build --release --bins
//! target/release/central_bench [--duration 10] [--sizes 1,100,500] [--connections 1,4]
//! ```

mod batch_script;
mod cpu;
mod push;
mod report;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bench::StackArgs;
use bench::database;
use bench::pgbench::Pgbench;
use bench::stats::load_average;
use clap::Parser;
use sqlx::{Connection, PgConnection};

use crate::push::push_for;
use crate::report::{CentralRow, PgRow};
use crate::server::Central;

/// Benchmarks central's batch sync API against PostgreSQL's own rate.
#[derive(Debug, Parser)]
#[command(name = "central_bench", version)]
struct Cli {
    #[command(flatten)]
    stack: StackArgs,
    /// Batch sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,100,500")]
    sizes: Vec<usize>,
    /// Concurrent connections to measure (each pushes to stores of its own).
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    connections: Vec<usize>,
    /// Measured seconds per (size, connections), for central and pgbench.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Unmeasured seconds before each central measurement.
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// Stores registered at central.
    #[arg(long, default_value_t = 20)]
    stores: usize,
    /// SKUs per store (generated catalogue `BENCH-SKU-0001`...).
    #[arg(long, default_value_t = 250)]
    skus: usize,
    /// pgbench binary (default: PostgreSQL 15's, else `pgbench` on PATH).
    #[arg(long)]
    pgbench: Option<PathBuf>,
    /// Leave out the pgbench part.
    #[arg(long)]
    skip_pgbench: bool,
    /// Do not `VACUUM ANALYZE` and `CHECKPOINT` before each measurement
    /// (central's and pgbench's): the tables then have no statistics until
    /// autovacuum gets to them, as in a freshly migrated database.
    #[arg(long)]
    no_vacuum: bool,
}

fn main() -> ExitCode {
    bench::run_main("central-bench", run(Cli::parse()))
}

/// Sets up, measures, and tears down whatever happens in between.
async fn run(cli: Cli) -> anyhow::Result<()> {
    anyhow::ensure!(
        cli.stores > 0 && cli.skus > 0,
        "--stores and --skus must be positive"
    );
    anyhow::ensure!(
        cli.connections.iter().all(|&c| c > 0 && c <= cli.stores),
        "--connections must be between 1 and --stores"
    );
    let mut central = Central::new(&cli)?;
    let outcome = bench::until_interrupted(async {
        let token = central.start(&cli).await?;
        measure(&cli, &central, &token).await
    })
    .await;
    if outcome.is_err() {
        central.print_log_tail(30);
    }
    central.teardown().await;
    outcome
}

async fn measure(cli: &Cli, central: &Central, token: &str) -> anyhow::Result<()> {
    let pgbench = if cli.skip_pgbench {
        None
    } else {
        Some(locate_pgbench(cli).await?)
    };
    let mut conn = PgConnection::connect(central.db_url()).await?;
    let version = database::server_version(central.db_url()).await?;
    println!("# central-bench results\n");
    println!(
        "- PostgreSQL {version}; central-app at {} (DATABASE_MAX_CONNECTIONS 10, RUST_LOG info)",
        central.url("")
    );
    println!(
        "- {} stores × {} SKUs; {} s per measurement after a {} s warm-up; {}",
        cli.stores,
        cli.skus,
        cli.duration,
        cli.warmup,
        if cli.no_vacuum {
            "no VACUUM between measurements (--no-vacuum)"
        } else {
            "VACUUM ANALYZE + CHECKPOINT before each measurement"
        }
    );
    println!("- load average at start: {}\n", load_average());
    let mut central_rows = Vec::new();
    let mut pg_rows = Vec::new();
    for &size in &cli.sizes {
        anyhow::ensure!((1..=1000).contains(&size), "batch sizes are 1..=1000");
        for &connections in &cli.connections {
            eprintln!("[central] batch {size}, {connections} connection(s)");
            let level = (size, connections);
            vacuum(cli, &mut conn).await?;
            let warmup = Duration::from_secs(cli.warmup);
            push_for(central, cli, token, level, warmup, &mut conn).await?;
            let duration = Duration::from_secs(cli.duration);
            let pushed = push_for(central, cli, token, level, duration, &mut conn).await?;
            eprintln!(
                "[central]   {:.0} changes/s; load {}",
                pushed.rate(),
                load_average()
            );
            central_rows.push(CentralRow {
                size,
                connections,
                pushed,
            });
        }
        if let Some(pgbench) = &pgbench {
            for &clients in &cli.connections {
                eprintln!("[pgbench] batch {size}, {clients} client(s)");
                vacuum(cli, &mut conn).await?;
                let outcome = batch_script::run(pgbench, central, cli, size, clients).await?;
                eprintln!("[pgbench]   {:.0} changes/s", outcome.tps * size as f64);
                pg_rows.push(PgRow {
                    size,
                    clients,
                    outcome,
                });
            }
        }
    }
    report::print(&central_rows, &pg_rows);
    println!("\n- load average at the end: {}", load_average());
    Ok(())
}

/// Statistics, no dead rows and no checkpoint due at the start of a
/// measurement (unless `--no-vacuum`).
async fn vacuum(cli: &Cli, conn: &mut PgConnection) -> anyhow::Result<()> {
    if !cli.no_vacuum {
        for sql in [
            "VACUUM ANALYZE snapshots, central_stock, events, operations",
            "CHECKPOINT",
        ] {
            sqlx::raw_sql(sql).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// `--pgbench` or the default one; prints its version.
async fn locate_pgbench(cli: &Cli) -> anyhow::Result<Pgbench> {
    let pgbench = Pgbench::locate(cli.pgbench.as_deref())
        .await
        .context("pass --pgbench, or --skip-pgbench")?;
    println!("- {}", pgbench.version);
    Ok(pgbench)
}
