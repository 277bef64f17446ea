//! The command line every binary shares: a `--log-format` for all
//! subcommands, then the binary's own subcommand with its own options
//! (`store-app migrate --database-url …`), logging set up before it runs,
//! and an error logged once with exit code 1. The subcommands both ledger
//! apps have (`serve`, `migrate`, `populate`, `rebuild-projections`) are
//! [`LedgerCommand`], whose options each app makes runnable ([`Serve`],
//! [`Populate`]).

use std::future::Future;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Subcommand};

use sqlx::migrate::Migrator;

use crate::auth::issuing::commands::{ClientScope, ClientsCommand, KeysCommand};
use crate::db::DatabaseSettings;
use crate::http::Server;
use crate::rebuild::{self, Projections};
use crate::shutdown::shutdown_signal;
use crate::telemetry::{LogFormat, init_tracing};

/// A binary's command line: the shared log format and its subcommand `C`.
#[derive(Debug, clap::Parser)]
pub struct Cli<C: Subcommand> {
    /// Log format: `json` (default) or `pretty`.
    #[arg(long, env = "LOG_FORMAT", default_value = "json", global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: C,
}

/// What `--help` and `--version` say about a binary.
#[derive(Debug, Clone, Copy)]
pub struct About {
    pub name: &'static str,
    pub version: &'static str,
    pub about: &'static str,
}

/// What `--help` and `--version` say about the calling crate's binary:
/// its name, version and description from its `Cargo.toml`.
#[macro_export]
macro_rules! about {
    () => {
        $crate::cli::About {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            about: env!("CARGO_PKG_DESCRIPTION"),
        }
    };
}

/// Parses the command line as `about`'s binary, sets up logging and runs
/// the subcommand with `execute`; a usage error exits with clap's code 2.
pub async fn run<C, Fut>(about: About, execute: impl FnOnce(C) -> Fut) -> ExitCode
where
    C: Subcommand,
    Fut: Future<Output = anyhow::Result<ExitCode>>,
{
    let matches = Cli::<C>::command()
        .name(about.name)
        .version(about.version)
        .about(about.about)
        .get_matches();
    let cli = Cli::<C>::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    run_command(cli.log_format, execute(cli.command)).await
}

/// The body of every binary's `main`: sets up logging in `format`, runs the
/// subcommand, and turns an error into one logged line and exit code 1.
pub async fn run_command(
    format: LogFormat,
    command: impl Future<Output = anyhow::Result<ExitCode>>,
) -> ExitCode {
    init_tracing(format);
    match command.await {
        Ok(code) => code,
        Err(err) => {
            tracing::error!(error = %format_args!("{err:#}"), "command failed");
            ExitCode::FAILURE
        }
    }
}

/// The subcommands both ledger apps have, with each app's own options for
/// `serve` (`S`), `populate` (`P`) and what its clients carry (`C`).
#[derive(Debug, Subcommand)]
pub enum LedgerCommand<S: Args, P: Args, C: ClientScope> {
    /// Serve the HTTP API.
    Serve(S),
    /// Create the database if it is missing and apply migrations.
    Migrate(DatabaseSettings),
    /// Register a catalogue (the sample one unless a CSV `sku,name,quantity`
    /// is given); SKUs already registered are left alone.
    Populate(P),
    /// Replay the event log into fresh projections, or check them with
    /// --verify.
    RebuildProjections(RebuildArgs),
    /// Manage the OAuth2 clients this app issues tokens to.
    #[command(subcommand)]
    Clients(ClientsCommand<C>),
    /// Manage the key that signs this app's tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// Options of `rebuild-projections`.
#[derive(Debug, Clone, Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// Compare the projections with the log without writing; exit 1 on any
    /// difference.
    #[arg(long, env = "REBUILD_VERIFY")]
    pub verify: bool,
}

/// Options of `serve`: everything needed to build the app's server.
pub trait Serve: Args {
    /// Builds the HTTP server (the database, the bus, …), bound but not
    /// yet serving.
    fn build(self) -> impl Future<Output = anyhow::Result<Server>>;
}

/// Options of `populate`: which catalogue, into which database.
pub trait Populate: Args {
    /// Registers the catalogue; SKUs already registered are left alone.
    fn populate(self) -> impl Future<Output = anyhow::Result<()>>;
}

impl<S: Serve, P: Populate, C: ClientScope> LedgerCommand<S, P, C> {
    /// The body of a ledger app's `main`: parses the command line as
    /// `about`'s binary and runs the subcommand on the app whose migrations
    /// are `migrator` and whose projections are `R`.
    pub async fn main<R: Projections>(about: About, migrator: &'static Migrator) -> ExitCode {
        run(about, |command: Self| command.execute::<R>(migrator)).await
    }

    /// Runs the subcommand on the app whose migrations are `migrator` and
    /// whose projections are `R`.
    pub async fn execute<R: Projections>(self, migrator: &Migrator) -> anyhow::Result<ExitCode> {
        match self {
            Self::Serve(config) => {
                let server = config.build().await?;
                server.run_until_stopped(shutdown_signal()).await?;
            }
            Self::Migrate(database) => database.migrate(migrator).await?,
            Self::Populate(args) => args.populate().await?,
            Self::RebuildProjections(args) => {
                return rebuild::command::<R>(&args.database, args.verify).await;
            }
            Self::Clients(command) => command.execute().await?,
            Self::Keys(command) => command.execute()?,
        }
        Ok(ExitCode::SUCCESS)
    }
}
