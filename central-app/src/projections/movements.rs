//! Movement reports: an SKU's applied changes totalled by kind over a
//! window of when they happened, read from the log itself (the
//! `ChangeApplied` events), so the report and the log cannot disagree.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// The changes of one kind: `(kind, units, changes)`.
pub type KindRow = (String, i64, i64);

/// `sku`'s applied changes by kind, at `store_id` or every store, that
/// happened in `[from, to)` (either end open when `None`), in kind order.
pub async fn by_kind(
    pool: &PgPool,
    sku: &str,
    store_id: Option<&str>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<KindRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT coalesce(payload->'ChangeApplied'->>'kind', 'adjustment') AS kind,
                sum((payload->'ChangeApplied'->>'delta')::bigint)::bigint AS units,
                count(*) AS changes
           FROM events
          WHERE event_type = 'ChangeApplied' AND sku = $1
            AND ($2::text IS NULL OR store_id = $2)
            AND ($3::timestamptz IS NULL
                 OR (payload->'ChangeApplied'->>'occurred_at')::timestamptz >= $3)
            AND ($4::timestamptz IS NULL
                 OR (payload->'ChangeApplied'->>'occurred_at')::timestamptz < $4)
          GROUP BY 1
          ORDER BY 1",
    )
    .bind(sku)
    .bind(store_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}
