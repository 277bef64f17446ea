//! One store's inventory service: the HTTP API over the store's event log,
//! its projections, and the command-line tasks that maintain them.

pub mod app;
pub mod cli;
pub mod config;
pub mod database;
pub mod http;
pub mod ledger;
pub mod metrics;
pub mod projections;

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{Cli, Command};

/// Runs one subcommand to completion.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.config;
    match cli.command {
        Command::Serve => {
            let app = app::Application::build(config).await?;
            app.run_until_stopped(service_infra::shutdown_signal())
                .await?;
        }
        Command::Migrate => {
            database::migrate(config.database_url()?).await?;
        }
        Command::Populate { catalogue } => {
            let items = match catalogue {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    domain::catalogue::parse(&text)?
                }
                None => domain::catalogue::sample(),
            };
            let pool = database::connect(&config).await?;
            let ledger = ledger::Ledger::new(pool);
            let rows: Vec<_> = items
                .into_iter()
                .map(|item| (item.sku, item.name, item.quantity))
                .collect();
            let new = ledger.register(&rows).await?;
            tracing::info!(
                registered = new,
                already_present = rows.len() - new,
                "catalogue loaded"
            );
        }
        Command::RebuildProjections { verify } => {
            let pool = database::connect(&config).await?;
            let differences = projections::rebuild::run(&pool, verify).await?;
            if verify && differences > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
