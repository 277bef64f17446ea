//! Reads of the `central_stock` projection.

use domain::{Sku, StoreId};
use sqlx::PgPool;

use super::write::StockRow;

/// One store's figures for an SKU, as head office sees them.
pub async fn store_item(
    pool: &PgPool,
    store_id: &StoreId,
    sku: &Sku,
) -> Result<Option<StockRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT store_id, sku, name, quantity, version FROM central_stock
          WHERE store_id = $1 AND sku = $2",
    )
    .bind(store_id.as_str())
    .bind(sku.as_str())
    .fetch_optional(pool)
    .await
}

/// Chain-wide availability of an SKU: every store's row, by store id.
/// Empty when no store carries the SKU.
pub async fn availability(pool: &PgPool, sku: &Sku) -> Result<Vec<StockRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT store_id, sku, name, quantity, version FROM central_stock
          WHERE sku = $1 ORDER BY store_id",
    )
    .bind(sku.as_str())
    .fetch_all(pool)
    .await
}

/// Every row of the projection, by store and SKU.
pub async fn all<'c>(executor: impl sqlx::PgExecutor<'c>) -> Result<Vec<StockRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT store_id, sku, name, quantity, version FROM central_stock
          ORDER BY store_id, sku",
    )
    .fetch_all(executor)
    .await
}
