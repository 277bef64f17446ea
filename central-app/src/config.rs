//! Typed settings of `central-app`, one struct per subcommand, read from
//! flags or environment variables and checked before anything starts.
//! Secrets and URLs that may hold a password live in [`Secret`], which
//! never prints.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use domain::StoreId;
use service_infra::auth::Role;
use service_infra::auth::issuing::commands::ClientScope;
pub use service_infra::db::DatabaseSettings;
pub use service_infra::secret::Secret;
use service_infra::sync_bus::DEV_AMQP_URL;

/// Everything `serve` needs.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// Address the HTTP server listens on (port 0 picks a free port).
    #[arg(long, env = "BIND_ADDR", default_value = "0.0.0.0:8000")]
    pub bind_addr: SocketAddr,
    /// Ed25519 private key (PKCS#8 PEM) that signs access tokens; create one
    /// with `central-app keys generate --out FILE`.
    #[arg(long, env = "JWT_PRIVATE_KEY_FILE")]
    pub jwt_private_key_file: PathBuf,
    /// Lifetime of issued access tokens, e.g. `15m`, `1h`.
    #[arg(long, env = "TOKEN_TTL", default_value = "15m")]
    pub token_ttl: humantime::Duration,
    /// RabbitMQ URL for nudging stores after head-office changes (default:
    /// the local stack's development broker).
    #[arg(long, env = "AMQP_URL", default_value = DEV_AMQP_URL, hide_env_values = true, hide_default_value = true)]
    pub amqp_url: Secret,
    /// Exchange store nudges go to (the worker's queues are named after it).
    #[arg(long, env = "AMQP_EXCHANGE", default_value = service_infra::sync_bus::DEFAULT_EXCHANGE)]
    pub amqp_exchange: String,
    /// Durable topic exchange low-stock events are published to
    /// (`stock.low.<store>.<sku>`, `stock.restored.<store>.<sku>`).
    #[arg(long, env = "EVENTS_EXCHANGE", default_value = crate::outbox::DEFAULT_EVENTS_EXCHANGE)]
    pub events_exchange: String,
    /// How often this replica looks for holds past their deadline, e.g. `1s`.
    #[arg(long, env = "HOLD_EXPIRY_INTERVAL", default_value = "1s")]
    pub hold_expiry_interval: humantime::Duration,
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

/// What central's clients carry beyond id, role and secret: the store a
/// `store` client acts for.
#[derive(Debug, Args)]
pub struct ClientStore {
    /// The store a `store` client acts for.
    #[arg(long, env = "CLIENT_STORE_ID")]
    pub store_id: Option<StoreId>,
}

impl ClientScope for ClientStore {
    const ROLES: &'static [Role] = &Role::CENTRAL;

    fn store_id(&self) -> Option<StoreId> {
        self.store_id.clone()
    }
}
