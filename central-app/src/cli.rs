//! The command line: `serve`, `migrate`, `populate`, `rebuild-projections`,
//! `clients create` and `keys generate`. Every option is also an
//! environment variable.

use std::process::ExitCode;

use clap::Subcommand;
use service_infra::cli;
use service_infra::shutdown_signal;

use crate::auth::clients::{Client, Clients, generate_secret};
use crate::catalogue;
use crate::config::{
    CreateClientArgs, DatabaseSettings, GenerateKeyArgs, PopulateArgs, RebuildArgs, ServeConfig,
};
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
    /// Register a catalogue for stores (idempotent).
    Populate(PopulateArgs),
    /// Rebuild `central_stock` from the event log, or check it with --verify.
    RebuildProjections(RebuildArgs),
    /// Manage OAuth2 clients.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Manage the token signing key.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// `clients` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Create a client, or replace an existing one's role, store and secret.
    Create(CreateClientArgs),
}

/// `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate an Ed25519 signing key (PKCS#8 PEM, owner-only file).
    Generate(GenerateKeyArgs),
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
        Command::Migrate(database) => {
            database.migrate(&MIGRATOR).await?;
        }
        Command::Populate(args) => populate(args).await?,
        Command::RebuildProjections(args) => return rebuild_projections(args).await,
        Command::Clients(ClientsCommand::Create(args)) => create_client(args).await?,
        Command::Keys(KeysCommand::Generate(args)) => {
            let kid = crate::auth::keys::generate(&args.out, args.force)?;
            println!(
                "wrote Ed25519 signing key {} (kid {kid})",
                args.out.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn populate(args: PopulateArgs) -> anyhow::Result<()> {
    let items = match &args.catalogue {
        Some(path) => catalogue::from_csv(path)?,
        None => catalogue::sample(),
    };
    let ledger = Ledger::new(args.database.pool(DEFAULT_MAX_CONNECTIONS)?);
    for store_id in &args.stores {
        let new = ledger.register(store_id, &items).await?;
        println!(
            "{store_id}: {new} new of {} catalogue items registered",
            items.len()
        );
    }
    Ok(())
}

async fn rebuild_projections(args: RebuildArgs) -> anyhow::Result<ExitCode> {
    let pool = args.database.pool(DEFAULT_MAX_CONNECTIONS)?;
    service_infra::rebuild::command(pool, args.verify, |pool, verify, bar| async move {
        let progress = |replayed| bar.set_position(replayed);
        Ok(rebuild::run(&pool, verify, &progress).await?)
    })
    .await
}

async fn create_client(args: CreateClientArgs) -> anyhow::Result<()> {
    let clients = Clients::new(args.database.pool(DEFAULT_MAX_CONNECTIONS)?)?;
    let client = Client {
        client_id: args.id,
        role: args.role,
        store_id: args.store_id,
    };
    let generated = args.secret.is_none();
    let secret = args.secret.unwrap_or_else(generate_secret);
    clients.save(&client, &secret).await?;
    println!(
        "client {} saved with role {}",
        client.client_id, client.role
    );
    if generated {
        // Shown once: only its hash is stored.
        println!("client_secret: {}", secret.expose());
    }
    Ok(())
}
