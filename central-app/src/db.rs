//! Central's database: its migrations and creating it on first use.

use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::{PgPool, Postgres};

use crate::config::DatabaseSettings;

/// Central's migrations, embedded at build time from `migrations/central`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations/central");

/// Creates the database if it does not exist, then applies pending
/// migrations. Safe to run again.
pub async fn migrate(settings: &DatabaseSettings) -> anyhow::Result<()> {
    let url = settings.database_url.expose();
    if !Postgres::database_exists(url).await? {
        Postgres::create_database(url).await?;
        tracing::info!("created database");
    }
    let pool = settings.pool()?;
    MIGRATOR.run(&pool).await?;
    pool.close().await;
    Ok(())
}

/// Whether the database answers a trivial query.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(drop)
}
