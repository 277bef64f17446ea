//! Queries behind the operators' status page (`GET /status`): what central
//! can tell about each store's sync from its own log, store→central
//! propagation over the last minutes, the operations it refused for good,
//! and stock per SKU across stores.
//!
//! Everything is read in one read-only `REPEATABLE READ` transaction, so the
//! sections agree with each other and with [`Status::now`]. Each query reads
//! a bounded part of an index of migration 0004, never the whole log: the
//! store sections descend `events_changes_by_store_origin` once or twice per
//! store, the refusals read the first entries of
//! `operations_refused_by_recorded_at`. With a million rows in `events` and
//! in `operations` a page load takes about 1 ms plus the store changes of
//! the propagation window (it scanned both tables, about 0.9 s, before).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// How many refused operations the page lists.
pub const RECENT_CONFLICTS: i64 = 20;

/// The window of the propagation percentiles, in minutes.
pub const PROPAGATION_WINDOW_MINUTES: i32 = 5;

/// One store, as central's log shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoreSync {
    pub store_id: String,
    /// When central last applied a change pushed by the store: the newest
    /// store-origin `ChangeApplied`'s `recorded_at`.
    pub last_store_change: Option<DateTime<Utc>>,
    /// When central last applied a head-office change to the store.
    pub last_head_office_change: Option<DateTime<Utc>>,
}

/// `recorded_at - occurred_at` of the store changes central applied in the
/// window; the percentiles are `None` when there were none.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Propagation {
    pub changes: i64,
    pub p50_seconds: Option<f64>,
    pub p99_seconds: Option<f64>,
}

/// An operation central refused for good (`version_conflict` or
/// `insufficient_stock`), with central's figures at the time.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Refusal {
    pub recorded_at: DateTime<Utc>,
    pub store_id: String,
    pub operation_id: Uuid,
    pub sku: String,
    pub delta: i64,
    pub expected_version: Option<i64>,
    pub outcome: String,
    pub version: i64,
    pub quantity: i64,
}

/// One (SKU, store) row of `central_stock` with the SKU's chain-wide total.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StockCell {
    pub sku: String,
    pub name: String,
    pub store_id: String,
    pub quantity: i64,
    pub total: i64,
}

/// Everything the status page shows, read at one instant.
#[derive(Debug, Clone)]
pub struct Status {
    /// The database's clock when the figures were read.
    pub now: DateTime<Utc>,
    pub stores: Vec<StoreSync>,
    pub propagation: Propagation,
    pub refusals: Vec<Refusal>,
    /// By SKU, then store.
    pub stock: Vec<StockCell>,
}

/// Reads the whole page's figures in one snapshot.
pub async fn load(pool: &PgPool) -> Result<Status, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let now = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *tx)
        .await?;
    let stores = sqlx::query_as(
        // One backward descent of events_changes_by_store_origin per store
        // and origin (max over an index prefix reads one entry).
        "SELECT s.store_id,
                (SELECT max(e.recorded_at)
                   FROM events e
                  WHERE e.event_type = 'ChangeApplied'
                    AND e.store_id = s.store_id
                    AND e.payload->'ChangeApplied'->>'origin' = 'store')
                    AS last_store_change,
                (SELECT max(e.recorded_at)
                   FROM events e
                  WHERE e.event_type = 'ChangeApplied'
                    AND e.store_id = s.store_id
                    AND e.payload->'ChangeApplied'->>'origin' = 'head_office')
                    AS last_head_office_change
           FROM (SELECT DISTINCT store_id FROM central_stock) s
          ORDER BY s.store_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    // The index leads with store_id, so the window is read as one range per
    // store; `stores` finds every store with a change by skipping from one
    // store_id to the next in the index (a descent per store). The window is
    // a literal, not a parameter: with `$1` a generic plan of the cached
    // statement cannot estimate the window and reads the whole index.
    let propagation_sql = format!(
        "WITH RECURSIVE stores (store_id) AS (
                SELECT min(store_id) FROM events WHERE event_type = 'ChangeApplied'
              UNION ALL
                SELECT (SELECT min(e.store_id)
                          FROM events e
                         WHERE e.event_type = 'ChangeApplied' AND e.store_id > s.store_id)
                  FROM stores s
                 WHERE s.store_id IS NOT NULL
         )
         SELECT count(*) AS changes,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50_seconds,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) AS p99_seconds
           FROM stores s
          CROSS JOIN LATERAL (
                SELECT extract(epoch FROM e.recorded_at
                         - (e.payload->'ChangeApplied'->>'occurred_at')::timestamptz)::float8
                         AS lag
                  FROM events e
                 WHERE e.event_type = 'ChangeApplied'
                   AND e.store_id = s.store_id
                   AND e.payload->'ChangeApplied'->>'origin' = 'store'
                   AND e.recorded_at >= now() - make_interval(mins => {PROPAGATION_WINDOW_MINUTES})) recent",
    );
    let propagation = sqlx::query_as(&propagation_sql).fetch_one(&mut *tx).await?;
    let refusals = sqlx::query_as(
        // The first entries of operations_refused_by_recorded_at, whose
        // order is this ORDER BY.
        "SELECT recorded_at, store_id, operation_id, sku, delta, expected_version, outcome,
                version, quantity
           FROM operations
          WHERE outcome IN ('version_conflict', 'insufficient_stock')
          ORDER BY recorded_at DESC, store_id, operation_id DESC
          LIMIT $1",
    )
    .bind(RECENT_CONFLICTS)
    .fetch_all(&mut *tx)
    .await?;
    let stock = sqlx::query_as(
        "SELECT sku, name, store_id, quantity,
                (sum(quantity) OVER (PARTITION BY sku))::bigint AS total
           FROM central_stock
          ORDER BY sku, store_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Status {
        now,
        stores,
        propagation,
        refusals,
        stock,
    })
}
