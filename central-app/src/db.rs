//! Central's database: its migrations and the pool size it defaults to.

use sqlx::migrate::Migrator;

/// Central's migrations, embedded at build time from `migrations/central`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations/central");

/// Pool size when `DATABASE_MAX_CONNECTIONS` is not set.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
