//! What the benchmark binaries (`store-bench`, `central_bench`, `sync_bench`,
//! `rebuild_bench`) share: the options naming the servers and the binaries
//! under test, the `main` every one of them has, and the modules below.
//!
//! - [`scratch`]: what a run creates (databases, exchange, directory) and
//!   its removal; [`database`]: the databases among them;
//! - [`binary`]: running the release binaries (subcommands, servers, readiness);
//! - [`central`]: preparing a central-app (key, schema, catalogue, worker client);
//! - [`catalogue`]: the generated catalogue and store ids;
//! - [`pgbench`]: finding and running pgbench and reading what it reports;
//! - [`cpu`]: CPU time of processes and of the machine;
//! - [`stats`], [`table`]: latency summaries and Markdown tables.
//!
//! The store-bench binary's own modules live beside these in `src/`
//! (declared in `main.rs`); the others' in `src/bin/<name>/`.

pub mod binary;
pub mod catalogue;
pub mod central;
pub mod cpu;
pub mod database;
pub mod pgbench;
pub mod scratch;
pub mod stats;
pub mod table;
pub mod token;

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the benchmark runs: the servers it creates its databases and broker
/// names on (and removes them from), and the release binaries it starts.
#[derive(Debug, Clone, clap::Args)]
pub struct StackArgs {
    /// PostgreSQL server on which the `bench_<uuid>*` databases are created
    /// and finally dropped.
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub database_url: String,
    /// RabbitMQ handed to the services (their sync nudges).
    #[arg(
        long,
        env = "BENCH_AMQP_URL",
        hide_env_values = true,
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    pub amqp_url: String,
    /// Directory holding the release binaries.
    #[arg(long, default_value = "target/release")]
    pub bin_dir: PathBuf,
}

/// A benchmark's `main`: runs `work` on a multi-threaded runtime and turns
/// its outcome into the exit code, printing the error (as `<name> failed:
/// ...`) if there is one.
pub fn run_main(name: &str, work: impl Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{name}: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name} failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `work`, or an "interrupted" error as soon as Ctrl-C arrives (the caller
/// then tears down what it set up).
pub async fn until_interrupted<T>(
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    }
}
