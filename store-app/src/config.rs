//! Typed settings of `store-app`, one struct per subcommand, read from
//! flags or environment variables and checked before anything starts.
//! URLs that may hold a password live in [`Secret`], which never prints.

use std::net::SocketAddr;
use std::path::PathBuf;

use domain::StoreId;
use service_infra::auth::Role;
use service_infra::auth::issuing::commands::ClientScope;
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
    /// Whether the local API (`/v1/local`) needs a token this store issued:
    /// `required`, or `off` (development only: anyone may change stock, and
    /// changes name no client).
    #[arg(long, env = "LOCAL_AUTH", value_enum, default_value_t = LocalAuth::Required)]
    pub local_auth: LocalAuth,
    /// Ed25519 private key (PKCS#8 PEM) that signs this store's own tokens;
    /// create one with `store-app keys generate --out FILE`. Required with
    /// `LOCAL_AUTH=required`; with `off`, a key made at start-up serves
    /// until the process ends.
    #[arg(long, env = "STORE_JWT_PRIVATE_KEY_FILE")]
    pub jwt_private_key_file: Option<PathBuf>,
    /// Lifetime of the tokens this store issues, e.g. `15m`, `1h`; a
    /// disabled client's last token works at most this long.
    #[arg(long, env = "TOKEN_TTL", default_value = "15m")]
    pub token_ttl: humantime::Duration,
}

/// Whether the local API needs a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LocalAuth {
    /// Every `/v1/local` call needs a token this store issued.
    Required,
    /// No token needed (the prototype's behaviour, for development only).
    Off,
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

/// A store's clients carry nothing beyond id, role and secret: they act for
/// this store.
#[derive(Debug, clap::Args)]
pub struct LocalClients {}

impl ClientScope for LocalClients {
    const ROLES: &'static [Role] = &Role::LOCAL;

    fn store_id(&self) -> Option<StoreId> {
        None
    }
}
