//! The `sync-worker` command line: `serve` and `sync-once --store ID`.

use clap::{Parser, Subcommand};
use domain::StoreId;

use crate::config::WorkerConfig;

/// Moves store changes to central and central's changes back to the stores.
///
/// Every setting is also read from the environment variable named in its
/// help text.
#[derive(Debug, Parser)]
#[command(name = "sync-worker", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub config: WorkerConfig,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Consume the store queues, run the scheduler and serve metrics until
    /// SIGTERM.
    Serve,
    /// Run one sync of one store now, print its report as one JSON line
    /// (after the log lines) and exit: 0 when done, 2 when changes were
    /// left for a retry, 1 when the sync failed. Needs no broker.
    SyncOnce {
        /// The store to sync; must be one of `STORES`.
        #[arg(long)]
        store: StoreId,
    },
}
