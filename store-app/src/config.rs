//! Typed settings of `store-app`, one struct per subcommand, read from
//! flags or environment variables and checked before anything starts.
//! URLs that may hold a password live in [`Secret`], which never prints.

use std::net::SocketAddr;
use std::path::PathBuf;

use domain::StoreId;
use service_infra::db::DatabaseSettings;
use service_infra::secret::Secret;
use service_infra::sync_bus::{DEFAULT_EXCHANGE, DEV_AMQP_URL};

/// Everything `serve` needs.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// This store's id.
    #[arg(long, env = "STORE_ID", default_value = "STORE-001")]
    pub store_id: StoreId,
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// RabbitMQ URL for sync nudges (default: the local stack's development
    /// broker).
    #[arg(long, env = "AMQP_URL", default_value = DEV_AMQP_URL, hide_env_values = true, hide_default_value = true)]
    pub amqp_url: Secret,
    /// Exchange sync nudges go to (queues are named after it).
    #[arg(long, env = "AMQP_EXCHANGE", default_value = DEFAULT_EXCHANGE)]
    pub amqp_exchange: String,
    /// Address the HTTP API listens on (port 0 picks a free port).
    #[arg(long, env = "BIND_ADDR", default_value = "0.0.0.0:8001")]
    pub bind_addr: SocketAddr,
    /// Central's base URL; its JWKS verifies the worker's tokens.
    #[arg(long, env = "CENTRAL_URL", default_value = "http://127.0.0.1:8000")]
    pub central_url: String,
}

impl ServeConfig {
    /// Where central publishes its signing keys.
    pub fn jwks_url(&self) -> String {
        format!(
            "{}/.well-known/jwks.json",
            self.central_url.trim_end_matches('/')
        )
    }
}

/// Options of `populate`.
#[derive(Debug, Clone, clap::Args)]
pub struct PopulateArgs {
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// CSV file with `sku,name,quantity`; the built-in sample when absent.
    #[arg(long, env = "POPULATE_CATALOGUE")]
    pub catalogue: Option<PathBuf>,
}
