//! The `store-app` command line: `serve`, `migrate`, `populate`,
//! `rebuild-projections`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::StoreConfig;

/// One store's inventory service.
#[derive(Debug, Parser)]
#[command(name = "store-app", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub config: StoreConfig,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API.
    Serve,
    /// Create the database if missing and apply migrations.
    Migrate,
    /// Register the sample catalogue (or a CSV `sku,name,quantity`); SKUs
    /// already registered are left alone.
    Populate {
        #[arg(long)]
        catalogue: Option<PathBuf>,
    },
    /// Replay the event log into fresh projections.
    RebuildProjections {
        /// Compare with the current projections instead of writing; exit
        /// non-zero on any difference.
        #[arg(long)]
        verify: bool,
    },
}
