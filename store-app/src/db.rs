//! The store's database: its migrations and the pool size it defaults to.

use sqlx::migrate::Migrator;

/// The store's migrations, embedded at build time from `migrations/store`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations/store");

/// Pool size when `DATABASE_MAX_CONNECTIONS` is not set.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;
