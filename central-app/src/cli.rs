//! The command line: `serve`, `migrate`, `populate` and
//! `rebuild-projections`, the subcommands every ledger app has
//! (`service_infra::cli::LedgerCommand`), plus `clients create` and `keys
//! generate`. Every option is also an environment variable and belongs to
//! the subcommand that uses it.

use std::process::ExitCode;

use clap::Subcommand;
use service_infra::cli::{self, LedgerCommand, Populate};

use crate::auth::clients::{Client, Clients, generate_secret};
use crate::catalogue;
use crate::config::{CreateClientArgs, GenerateKeyArgs, PopulateArgs, ServeConfig};
use crate::db::{DEFAULT_MAX_CONNECTIONS, MIGRATOR};
use crate::ledger::Ledger;
use crate::projections::rebuild::CentralProjections;

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Ledger(LedgerCommand<ServeConfig, PopulateArgs>),
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
        Command::Ledger(command) => return command.execute::<CentralProjections>(&MIGRATOR).await,
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

impl Populate for PopulateArgs {
    async fn populate(self) -> anyhow::Result<()> {
        let items = match &self.catalogue {
            Some(path) => catalogue::from_csv(path)?,
            None => catalogue::sample(),
        };
        let ledger = Ledger::new(self.database.pool(DEFAULT_MAX_CONNECTIONS)?);
        for store_id in &self.stores {
            let new = ledger.register(store_id, &items).await?;
            println!(
                "{store_id}: {new} new of {} catalogue items registered",
                items.len()
            );
        }
        Ok(())
    }
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
