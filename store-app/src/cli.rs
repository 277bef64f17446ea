//! The command line: `serve`, `migrate`, `populate` and
//! `rebuild-projections`. Every option is also an environment variable and
//! belongs to the subcommand that uses it (`store-app migrate
//! --database-url …`).

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use service_infra::cli;
use service_infra::db::DatabaseSettings;
use service_infra::shutdown_signal;

use crate::config::{PopulateArgs, RebuildArgs, ServeConfig};
use crate::db::{DEFAULT_MAX_CONNECTIONS, MIGRATOR};
use crate::ledger::Ledger;
use crate::projections::rebuild;
use crate::startup;

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API.
    Serve(ServeConfig),
    /// Create the database if it is missing and apply migrations.
    Migrate(DatabaseSettings),
    /// Register the sample catalogue (or a CSV `sku,name,quantity`); SKUs
    /// already registered are left alone.
    Populate(PopulateArgs),
    /// Replay the event log into fresh projections, or check them with
    /// --verify.
    RebuildProjections(RebuildArgs),
}

/// Parses the command line, sets up logging and runs the subcommand.
pub async fn run() -> ExitCode {
    cli::run(service_infra::about!(), execute).await
}

async fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(config) => {
            let server = startup::build(config).await?;
            server.run_until_stopped(shutdown_signal()).await?
        }
        Command::Migrate(database) => database.migrate(&MIGRATOR).await?,
        Command::Populate(args) => populate(args).await?,
        Command::RebuildProjections(args) => return rebuild_projections(args).await,
    }
    Ok(ExitCode::SUCCESS)
}

async fn rebuild_projections(args: RebuildArgs) -> anyhow::Result<ExitCode> {
    let pool = args.database.pool(DEFAULT_MAX_CONNECTIONS)?;
    service_infra::rebuild::command(pool, args.verify, |pool, verify, bar| async move {
        rebuild::run(&pool, verify, &|replayed| bar.set_position(replayed)).await
    })
    .await
}

async fn populate(args: PopulateArgs) -> anyhow::Result<()> {
    let items = match &args.catalogue {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            domain::catalogue::parse(&text)?
        }
        None => domain::catalogue::sample(),
    };
    let ledger = Ledger::new(args.database.pool(DEFAULT_MAX_CONNECTIONS)?);
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
    Ok(())
}
