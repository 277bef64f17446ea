//! The store's copy of its holds (what central last said about each
//! reservation), saved with central's changes, and the units they keep from
//! a sale: the only place that reads or writes the `holds` table.

use chrono::{DateTime, Utc};
use domain::reservation::ReservationId;
use protocol::worker::CentralHold;
use sqlx::PgConnection;
use uuid::Uuid;

/// A hold as this store knows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HoldCopy {
    pub reservation_id: Uuid,
    pub sku: String,
    pub quantity: i64,
    /// Central's status.
    pub status: String,
    pub expires_at: DateTime<Utc>,
    pub version: i64,
    /// Whether this store recorded the pick-up (a sale naming it).
    pub picked_up: bool,
}

/// Saves central's word on holds (a newer copy replaces an older one, never
/// the reverse; a page may name a hold once per event of it), inside the
/// caller's transaction.
pub async fn save(conn: &mut PgConnection, holds: &[CentralHold]) -> Result<(), sqlx::Error> {
    if holds.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO holds (reservation_id, sku, quantity, status, expires_at, version)
         SELECT DISTINCT ON (h.reservation_id)
                h.reservation_id, h.sku, h.quantity, h.status, h.expires_at, h.version
           FROM jsonb_to_recordset($1) AS h(reservation_id uuid, sku text, quantity bigint,
                                            status text, expires_at timestamptz, version bigint)
          ORDER BY h.reservation_id, h.version DESC
         ON CONFLICT (reservation_id) DO UPDATE
            SET status = EXCLUDED.status, version = EXCLUDED.version
          WHERE holds.version < EXCLUDED.version",
    )
    .bind(sqlx::types::Json(holds))
    .execute(conn)
    .await?;
    Ok(())
}

/// The holds whose units a sale of the SKUs `$3` may not take, as
/// `(reservation_id, sku, quantity)`: live holds this store has not picked
/// up yet and whose time is not up (central lets those go anyway). A
/// pick-up may take its own hold's units; the caller leaves that one out.
pub const LIVE_HOLDS: &str = "SELECT h.reservation_id, h.sku, h.quantity FROM holds h
          WHERE h.sku = ANY($3) AND h.status = 'held' AND h.expires_at > now()
            AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.reservation_id = h.reservation_id)";

/// One hold, if central has told this store of it.
pub async fn one(
    executor: impl sqlx::PgExecutor<'_>,
    id: ReservationId,
) -> Result<Option<HoldCopy>, sqlx::Error> {
    sqlx::query_as(
        "SELECT h.reservation_id, h.sku, h.quantity, h.status, h.expires_at, h.version,
                EXISTS (SELECT 1 FROM changes c WHERE c.reservation_id = h.reservation_id) AS picked_up
           FROM holds h WHERE h.reservation_id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(executor)
    .await
}
