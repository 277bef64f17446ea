//! The command line every binary shares: a `--log-format` for all
//! subcommands, then the binary's own subcommand with its own options
//! (`store-app migrate --database-url …`), logging set up before it runs,
//! and an error logged once with exit code 1.

use std::future::Future;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Subcommand};

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
