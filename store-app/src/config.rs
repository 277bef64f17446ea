//! Typed settings of `store-app`, from flags or environment variables.

use std::net::SocketAddr;

use domain::StoreId;
use service_infra::LogFormat;
use service_infra::sync_bus::DEFAULT_EXCHANGE;

/// Everything the store's processes need to know; validated at start-up.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreConfig {
    /// This store's id.
    #[arg(long, env = "STORE_ID", default_value = "STORE-001", global = true)]
    pub store_id: StoreId,
    /// PostgreSQL URL of this store's own database.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Largest number of database connections the process holds.
    #[arg(
        long,
        env = "DATABASE_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub database_max_connections: u32,
    /// RabbitMQ URL for sync nudges.
    #[arg(
        long,
        env = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f",
        global = true,
        hide_env_values = true
    )]
    pub amqp_url: String,
    /// Exchange sync nudges go to (queues are named after it).
    #[arg(long, env = "AMQP_EXCHANGE", default_value = DEFAULT_EXCHANGE, global = true)]
    pub amqp_exchange: String,
    /// Address the HTTP API listens on.
    #[arg(long, env = "BIND_ADDR", default_value = "0.0.0.0:8001", global = true)]
    pub bind_addr: SocketAddr,
    /// Central's base URL; its JWKS verifies the worker's tokens.
    #[arg(
        long,
        env = "CENTRAL_URL",
        default_value = "http://127.0.0.1:8000",
        global = true
    )]
    pub central_url: String,
    /// `json` (default) or `pretty`.
    #[arg(long, env = "LOG_FORMAT", default_value = "json", global = true)]
    pub log_format: LogFormat,
}

impl StoreConfig {
    /// The database URL, which every subcommand needs.
    pub fn database_url(&self) -> anyhow::Result<&str> {
        self.database_url
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("DATABASE_URL (or --database-url) must be set"))
    }

    /// Where central publishes its signing keys.
    pub fn jwks_url(&self) -> String {
        format!(
            "{}/.well-known/jwks.json",
            self.central_url.trim_end_matches('/')
        )
    }
}
