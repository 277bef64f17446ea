//! Connecting to the store's database and applying its migrations.

use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use crate::config::StoreConfig;

/// A pool on the store's database. Sessions that sit idle inside a
/// transaction are ended by the server, so a stuck client cannot hold a
/// stream lock or hold back event-log readers.
pub async fn connect(config: &StoreConfig) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = config
        .database_url()?
        .parse()
        .context("DATABASE_URL is not a valid PostgreSQL URL")?;
    let options = options.options([("idle_in_transaction_session_timeout", "10s")]);
    PgPoolOptions::new()
        .max_connections(config.database_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .context("connecting to the store database")
}

/// Creates the database if it does not exist, then applies migrations.
pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    if !Postgres::database_exists(database_url).await? {
        Postgres::create_database(database_url).await?;
        tracing::info!("database created");
    }
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(database_url)
        .await?;
    sqlx::migrate!("../migrations/store").run(&pool).await?;
    tracing::info!("migrations applied");
    Ok(())
}
