//! The store's copy of its transfers (what central last said about each)
//! and where the store's own steps on them stand: the only place that
//! reads or writes the `transfers` table.

use chrono::{DateTime, Utc};
use domain::transfer::TransferId;
use protocol::transfers::TransferView;
use sqlx::PgPool;
use uuid::Uuid;

/// A transfer as this store knows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransferCopy {
    pub transfer_id: Uuid,
    pub from_store: String,
    pub to_store: String,
    pub sku: String,
    pub quantity: i64,
    /// Central's status.
    pub status: String,
    pub shipped: Option<i64>,
    pub received: Option<i64>,
    pub discrepancy: Option<i64>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// Central's status, or the step this store took that central has not
    /// confirmed yet (`shipping`, `receiving`).
    pub local_status: String,
}

/// Central's status, overtaken by this store's own step on the transfer:
/// pending, it is `shipping`/`receiving`; applied, `shipped`/`received`
/// even before central's copy of the transfer says so.
const WITH_LOCAL_STATUS: &str = "
    SELECT t.transfer_id, t.from_store, t.to_store, t.sku, t.quantity, t.status, t.shipped,
           t.received, t.discrepancy, t.requested_at, t.updated_at, t.version,
           CASE
               WHEN t.status = 'shipped' AND rcv.status = 'pending' THEN 'receiving'
               WHEN t.status = 'shipped' AND rcv.status = 'synced' THEN 'received'
               WHEN t.status = 'requested' AND shp.status = 'pending' THEN 'shipping'
               WHEN t.status = 'requested' AND shp.status = 'synced' THEN 'shipped'
               ELSE t.status
           END AS local_status
      FROM transfers t
      LEFT JOIN changes shp ON shp.transfer_id = t.transfer_id AND shp.kind = 'transfer_out'
      LEFT JOIN changes rcv ON rcv.transfer_id = t.transfer_id AND rcv.kind = 'transfer_in'";

/// One transfer, if central has told this store of it.
pub async fn one(pool: &PgPool, id: TransferId) -> Result<Option<TransferCopy>, sqlx::Error> {
    sqlx::query_as(&format!("{WITH_LOCAL_STATUS} WHERE t.transfer_id = $1"))
        .bind(id.as_uuid())
        .fetch_optional(pool)
        .await
}

/// A page of transfers in id order after `after`, in `local_status` when
/// given.
pub async fn page(
    pool: &PgPool,
    local_status: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<TransferCopy>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT * FROM ({WITH_LOCAL_STATUS}) AS copy
          WHERE ($1::text IS NULL OR local_status = $1) AND ($2::uuid IS NULL OR transfer_id > $2)
          ORDER BY transfer_id LIMIT $3"
    ))
    .bind(local_status)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Saves central's copies (an older copy never replaces a newer one) and
/// the feed's cursor, in one transaction; returns how many copies changed.
pub async fn save(
    pool: &PgPool,
    transfers: &[TransferView],
    checkpoint: &str,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let saved = sqlx::query(
        "INSERT INTO transfers
         SELECT * FROM jsonb_populate_recordset(NULL::transfers, $1)
         ON CONFLICT (transfer_id) DO UPDATE
            SET status = EXCLUDED.status, shipped = EXCLUDED.shipped,
                received = EXCLUDED.received, discrepancy = EXCLUDED.discrepancy,
                updated_at = EXCLUDED.updated_at, version = EXCLUDED.version
          WHERE transfers.version < EXCLUDED.version",
    )
    .bind(sqlx::types::Json(transfers))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO transfer_checkpoint (cursor) VALUES ($1)
         ON CONFLICT (id) DO UPDATE SET cursor = EXCLUDED.cursor",
    )
    .bind(checkpoint)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(saved)
}

/// Where the store's copy stands in central's transfer feed.
pub async fn checkpoint(pool: &PgPool) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT cursor FROM transfer_checkpoint")
        .fetch_optional(pool)
        .await
}
