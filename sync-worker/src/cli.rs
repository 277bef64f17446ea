//! The command line: `serve` and `sync-once --store ID`. Every option is
//! also an environment variable and belongs to the subcommand that uses it
//! (`sync-worker sync-once --store STORE-001 --client-id …`).

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use domain::StoreId;
use service_infra::cli;

use crate::config::WorkerConfig;
use crate::metrics::WorkerMetrics;
use crate::serve;
use crate::sync::{SyncContext, sync_store};

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Consume the store queues, run the scheduler and serve metrics until
    /// SIGTERM.
    Serve(WorkerConfig),
    /// Run one sync of one store now, print its report as one JSON line
    /// (after the log lines) and exit: 0 when done, 2 when changes were
    /// left for a retry, 1 when the sync failed. Needs no broker.
    SyncOnce(SyncOnceArgs),
}

/// Options of `sync-once`.
#[derive(Debug, Args)]
pub struct SyncOnceArgs {
    /// The store to sync; must be one of `STORES`.
    #[arg(long)]
    pub store: StoreId,
    #[command(flatten)]
    pub config: WorkerConfig,
}

/// Parses the command line, sets up logging and runs the subcommand.
pub async fn run() -> ExitCode {
    cli::run(service_infra::about!(), execute).await
}

async fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(config) => {
            config.validate()?;
            serve::serve(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::SyncOnce(SyncOnceArgs { store, config }) => {
            config.validate()?;
            let ctx = SyncContext::from_config(&config, WorkerMetrics::new()?)?;
            let client = ctx
                .store(&store)
                .with_context(|| format!("store {store} is not one of STORES"))?;
            let report = sync_store(&ctx, client).await?;
            // Logs share stdout; the report is its last line, one JSON object.
            println!("{}", serde_json::to_string(&report)?);
            Ok(if report.deferred > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
