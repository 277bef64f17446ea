//! An app's own PostgreSQL database: the settings both apps read (one place
//! for the URL, the pool size and the session options), the pool built
//! from them, and creating and migrating the database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use crate::secret::Secret;

/// Where the app's database is and how many connections it may hold.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseSettings {
    /// PostgreSQL URL of this app's own database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Secret,
    /// Most connections the pool opens [default: 16 at a store, 10 at
    /// central].
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS")]
    pub database_max_connections: Option<u32>,
}

impl DatabaseSettings {
    /// Settings for `url` with the app's default pool size.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            database_url: Secret::new(url),
            database_max_connections: None,
        }
    }

    /// Connection options parsed from the URL. Sessions idle inside a
    /// transaction are ended by the server after 10 s, so a stuck client
    /// cannot hold a stream lock or the event log's read horizon for long.
    /// Prepared statements keep one generic plan: the command path's
    /// statements (CTEs over JSON parameters) plan alike whatever the
    /// values, and PostgreSQL would otherwise plan them afresh on every
    /// execution — a quarter of its CPU per change (BENCHMARKS.md).
    pub fn connect_options(&self) -> anyhow::Result<PgConnectOptions> {
        let options = PgConnectOptions::from_str(self.database_url.expose())
            .map_err(|_| anyhow::anyhow!("DATABASE_URL is not a valid PostgreSQL URL"))?;
        Ok(options.options([
            ("idle_in_transaction_session_timeout", "10s"),
            ("plan_cache_mode", "force_generic_plan"),
        ]))
    }

    /// A pool that connects on first use, so a server starts (and reports
    /// not ready) while its database is down. `default_max` applies when
    /// `DATABASE_MAX_CONNECTIONS` is not set.
    pub fn pool(&self, default_max: u32) -> anyhow::Result<PgPool> {
        Ok(PgPoolOptions::new()
            .max_connections(self.database_max_connections.unwrap_or(default_max))
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(self.connect_options()?))
    }

    /// Creates the database if it does not exist, then applies `migrator`'s
    /// pending migrations. Safe to run again.
    pub async fn migrate(&self, migrator: &Migrator) -> anyhow::Result<()> {
        let url = self.database_url.expose();
        if !Postgres::database_exists(url).await? {
            Postgres::create_database(url).await?;
            tracing::info!("database created");
        }
        let pool = self.pool(1)?;
        migrator.run(&pool).await?;
        pool.close().await;
        tracing::info!("migrations applied");
        Ok(())
    }
}

/// Whether the database answers a trivial query.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(drop)
}
