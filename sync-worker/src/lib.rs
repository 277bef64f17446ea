//! The sync worker: moves every store change to central exactly once, in
//! order, and brings central's changes back to the stores.
//!
//! RabbitMQ carries nudges ("store X has changes"), never data: a nudge
//! runs one [`sync`] of that store over HTTP, from the store's log to
//! central and back, so a lost or duplicated message loses nothing.
//!
//! - [`sync`]: one sync of one store, callable on its own.
//! - [`central_client`], [`store_client`], [`token`], [`http`]: the HTTP
//!   side, with a cached client-credentials token.
//! - [`topology`], [`bus`], [`message`], [`retry`]: the broker side.
//! - [`consumer`]: one store's queue; [`scheduler`]: the periodic safety net.
//! - [`serve`]: the long-running process; [`server`]: metrics and health.
//! - [`cli`] and [`config`]: subcommands and typed settings.

pub mod bus;
pub mod central_client;
pub mod cli;
pub mod config;
pub mod consumer;
pub mod http;
pub mod message;
pub mod metrics;
pub mod retry;
pub mod scheduler;
pub mod serve;
pub mod server;
pub mod store_client;
pub mod sync;
pub mod token;
pub mod topology;

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{Cli, Command};
use crate::metrics::WorkerMetrics;
use crate::sync::{SyncContext, sync_store};

/// Runs one subcommand to completion.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.config;
    config.validate()?;
    match cli.command {
        Command::Serve => {
            serve::serve(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::SyncOnce { store } => {
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
