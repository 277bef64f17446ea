//! The command line: `serve`, `migrate`, `populate`, `rebuild-projections`,
//! `clients create` and `keys generate`. Every option is also an
//! environment variable.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use domain::StoreId;
use indicatif::{ProgressBar, ProgressStyle};
use service_infra::auth::Role;
use service_infra::{LogFormat, init_tracing, shutdown_signal};

use crate::auth::clients::{Client, Clients, generate_secret};
use crate::catalogue;
use crate::config::{DatabaseSettings, Secret, ServeConfig};
use crate::ledger::Ledger;
use crate::projections::rebuild;
use crate::startup::Application;

/// Head office's inventory service.
#[derive(Debug, Parser)]
#[command(name = "central-app", version, about)]
pub struct Cli {
    /// Log format: `json` (default) or `pretty`.
    #[arg(long, env = "LOG_FORMAT", default_value = "json", global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

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

/// Options of `populate`.
#[derive(Debug, Args)]
pub struct PopulateArgs {
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// Comma-separated store ids, e.g. STORE-001,STORE-002.
    #[arg(long, env = "POPULATE_STORES", value_delimiter = ',', required = true)]
    pub stores: Vec<StoreId>,
    /// CSV file with `sku,name,quantity`; the built-in sample when absent.
    #[arg(long, env = "POPULATE_CATALOGUE")]
    pub catalogue: Option<PathBuf>,
}

/// Options of `rebuild-projections`.
#[derive(Debug, Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// Compare the projection with the log without writing; exit 1 on any
    /// difference.
    #[arg(long, env = "REBUILD_VERIFY")]
    pub verify: bool,
}

/// `clients` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Create a client, or replace an existing one's role, store and secret.
    Create(CreateClientArgs),
}

/// Options of `clients create`.
#[derive(Debug, Args)]
pub struct CreateClientArgs {
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// Client id, e.g. `sync-worker`.
    #[arg(long, env = "CLIENT_ID")]
    pub id: String,
    /// `sync-worker`, `store` or `admin`.
    #[arg(long, env = "CLIENT_ROLE")]
    pub role: Role,
    /// The store a `store` client acts for.
    #[arg(long, env = "CLIENT_STORE_ID")]
    pub store_id: Option<StoreId>,
    /// The secret to set; a random one is generated and printed once when
    /// absent.
    #[arg(long, env = "CLIENT_SECRET", hide_env_values = true)]
    pub secret: Option<Secret>,
}

/// `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate an Ed25519 signing key (PKCS#8 PEM, owner-only file).
    Generate(GenerateKeyArgs),
}

/// Options of `keys generate`.
#[derive(Debug, Args)]
pub struct GenerateKeyArgs {
    /// Where to write the key.
    #[arg(long, env = "JWT_PRIVATE_KEY_FILE")]
    pub out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long, env = "KEYS_FORCE")]
    pub force: bool,
}

/// Parses the command line, sets up logging and runs the subcommand.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    match execute(cli.command).await {
        Ok(code) => code,
        Err(err) => {
            tracing::error!(error = %format_args!("{err:#}"), "command failed");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(config) => {
            let app = Application::build(config).await?;
            app.run_until_stopped(shutdown_signal()).await?;
        }
        Command::Migrate(database) => {
            crate::db::migrate(&database).await?;
            tracing::info!("migrations applied");
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
    let ledger = Ledger::new(args.database.pool()?);
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
    let pool = args.database.pool()?;
    let bar = ProgressBar::new(rebuild::count_events(&pool).await?);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} events ({per_sec}, {eta} left)",
    )?);
    let started = Instant::now();
    let progress = |replayed: u64| bar.set_position(replayed);
    let report = if args.verify {
        rebuild::verify(&pool, &progress).await?
    } else {
        rebuild::rebuild(&pool, &progress).await?
    };
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64().max(1e-6);
    #[allow(clippy::cast_precision_loss)]
    let rate = report.events as f64 / seconds;
    println!(
        "replayed {} events in {seconds:.2}s ({rate:.0} events/s): {} stock rows",
        report.events, report.rows
    );
    if !args.verify {
        println!("central_stock rebuilt");
        return Ok(ExitCode::SUCCESS);
    }
    if report.differences.is_empty() {
        println!("central_stock matches the log");
        return Ok(ExitCode::SUCCESS);
    }
    for difference in &report.differences {
        println!("difference: {difference}");
    }
    println!("{} differences", report.differences.len());
    Ok(ExitCode::FAILURE)
}

async fn create_client(args: CreateClientArgs) -> anyhow::Result<()> {
    let clients = Clients::new(args.database.pool()?)?;
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
