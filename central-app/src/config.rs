//! Typed settings, read from flags or environment variables by clap and
//! checked before anything starts. Secrets live in [`Secret`], which never
//! prints its value.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Development default for `AMQP_URL`: the local stack's RabbitMQ with its
/// well-known guest account. Never use it in production.
pub const DEV_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

pub use service_infra::secret::Secret;

/// Where central's PostgreSQL database is.
#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// PostgreSQL URL of central's database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Secret,
    /// Most connections the pool opens.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,
}

impl DatabaseSettings {
    /// Connection options parsed from the URL. Idle transactions are cut
    /// off so a stuck client cannot hold stream locks (or the event log's
    /// read horizon) for long.
    pub fn connect_options(&self) -> anyhow::Result<PgConnectOptions> {
        let options = PgConnectOptions::from_str(self.database_url.expose())
            .map_err(|_| anyhow::anyhow!("DATABASE_URL is not a valid PostgreSQL URL"))?;
        Ok(options.options([("idle_in_transaction_session_timeout", "10s")]))
    }

    /// A pool that connects on first use, so the service starts (and reports
    /// not ready) while the database is down.
    pub fn pool(&self) -> anyhow::Result<PgPool> {
        Ok(PgPoolOptions::new()
            .max_connections(self.database_max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(self.connect_options()?))
    }
}

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
    /// RabbitMQ URL for nudging stores after head-office changes.
    #[arg(long, env = "AMQP_URL", default_value = DEV_AMQP_URL, hide_env_values = true, hide_default_value = true)]
    pub amqp_url: Secret,
    /// Exchange store nudges go to (the worker's queues are named after it).
    #[arg(long, env = "AMQP_EXCHANGE", default_value = service_infra::sync_bus::DEFAULT_EXCHANGE)]
    pub amqp_exchange: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(secret.expose(), "hunter2");
    }
}
