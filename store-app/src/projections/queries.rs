//! Reads of the projections for the HTTP API and the worker.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use protocol::local::InboxStatus;
use sqlx::PgPool;
use uuid::Uuid;

use super::rows::{ChangeRow, StockRow};

/// A SKU's stock row and the units held for reservations (live holds not
/// picked up yet).
const STOCK_COLUMNS: &str = "sku, name, quantity, confirmed_quantity, confirmed_version, version,
     pending_changes, last_operation_id, last_synced_at, last_counted_at,
     (SELECT COALESCE(sum(h.quantity), 0)::bigint FROM holds h
       WHERE h.sku = stock.sku AND h.status = 'held' AND h.expires_at > now()
         AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.reservation_id = h.reservation_id))
     AS reserved";

/// A SKU's stock with the units held for reservations.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StockWithHolds {
    #[sqlx(flatten)]
    pub row: StockRow,
    pub reserved: i64,
}

/// One SKU's stock.
pub async fn stock_item(pool: &PgPool, sku: &str) -> Result<Option<StockWithHolds>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {STOCK_COLUMNS} FROM stock WHERE sku = $1"))
        .bind(sku)
        .fetch_optional(pool)
        .await
}

/// A page of SKUs in SKU order, after `after`.
pub async fn stock_page(
    pool: &PgPool,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<StockWithHolds>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {STOCK_COLUMNS} FROM stock WHERE sku > $1 ORDER BY sku LIMIT $2"
    ))
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A change as the log defines it, plus the worker's retry bookkeeping.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChangeStatus {
    #[sqlx(flatten)]
    pub change: ChangeRow,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the worker set the change aside (central refuses any batch
    /// holding it); `None` unless quarantined.
    pub quarantined_at: Option<DateTime<Utc>>,
}

const CHANGE_COLUMNS: &str = "operation_id, sku, position, kind, delta, expected_version, reason,
     client_id, transfer_id, reservation_id, occurred_at, quantity_after, version_after, status, result_code, because_of,
     central_version, central_quantity, settled_at, attempts, last_error, next_attempt_at,
     quarantined_at";

/// One change by operation id.
pub async fn change(
    pool: &PgPool,
    operation_id: Uuid,
) -> Result<Option<ChangeStatus>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CHANGE_COLUMNS} FROM changes WHERE operation_id = $1"
    ))
    .bind(operation_id)
    .fetch_optional(pool)
    .await
}

/// The oldest pending changes in log order, quarantined ones left out.
pub async fn pending(pool: &PgPool, limit: i64) -> Result<Vec<ChangeStatus>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CHANGE_COLUMNS} FROM changes
          WHERE status = 'pending' AND quarantined_at IS NULL ORDER BY position LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A page of the conflict inbox: the changes in `status` after log
/// position `after`, in log order.
pub async fn inbox(
    pool: &PgPool,
    status: InboxStatus,
    after: i64,
    limit: i64,
) -> Result<Vec<ChangeStatus>, sqlx::Error> {
    let which = match status {
        InboxStatus::Rejected => "status = 'rejected'",
        InboxStatus::Retrying => "status = 'pending' AND attempts > 0 AND quarantined_at IS NULL",
        InboxStatus::Quarantined => "status = 'pending' AND quarantined_at IS NOT NULL",
    };
    sqlx::query_as(&format!(
        "SELECT {CHANGE_COLUMNS} FROM changes WHERE {which} AND position > $1
          ORDER BY position LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Which of `operation_ids` name a change of this store.
pub async fn existing_changes(
    pool: &PgPool,
    operation_ids: &[Uuid],
) -> Result<HashSet<Uuid>, sqlx::Error> {
    let found: Vec<Uuid> =
        sqlx::query_scalar("SELECT operation_id FROM changes WHERE operation_id = ANY($1)")
            .bind(operation_ids)
            .fetch_all(pool)
            .await?;
    Ok(found.into_iter().collect())
}

/// How many changes are pending and the age in seconds of the oldest.
pub async fn pending_summary(pool: &PgPool) -> Result<(i64, f64), sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*),
                COALESCE(EXTRACT(EPOCH FROM now() - min(occurred_at))::float8, 0)
           FROM changes WHERE status = 'pending'",
    )
    .fetch_one(pool)
    .await
}

/// The store's position in central's log, if it has read any of it.
pub async fn central_checkpoint(pool: &PgPool) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT cursor FROM central_checkpoint")
        .fetch_optional(pool)
        .await
}
