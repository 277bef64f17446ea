//! Holds (reservations) at central. Every transaction that changes what a
//! store's SKU has available locks the SKU's stock stream first, then its
//! holds, so holds, sales and alerts are decided one after another per SKU:
//! a hold is placed only against what is available then; a store change
//! that leaves less than is held marks the newest holds `short`; expiry
//! takes one due hold at a time, and a hold that ended meanwhile (on
//! another replica, say) refuses to expire.

use chrono::{DateTime, SubsecRound, Utc};
use domain::reservation::{Hold, HoldCommand, HoldError, HoldOrder, ReservationId};
use domain::{Sku, StoreId};
use serde_json::{Value, json};
use service_infra::db_retry::retry_conflicts;
use service_infra::event_streams::StreamSet;
use sqlx::PgConnection;
use uuid::Uuid;

use super::streams::Streams;
use super::{Ledger, LedgerError};
use crate::alerts;
use crate::projections::reservations::{self, HoldRow, HoldWrite};

/// The holds one transaction works on.
pub type HoldStreams = StreamSet<ReservationId, Hold, Value>;

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Marks the newest live holds of each SKU `short` until what is held fits
/// in what the store has at central (a store sold held units before it
/// heard of the holds). Runs after a batch's changes are written, under
/// their stock locks; returns how many holds it marked.
pub async fn mark_short(
    conn: &mut PgConnection,
    streams: &Streams,
    skus: &[Sku],
) -> Result<usize, LedgerError> {
    let store_id = streams.store_id().to_string();
    let names: Vec<String> = skus.iter().map(ToString::to_string).collect();
    let live = reservations::live(&mut *conn, &store_id, &names).await?;
    let mut short: Vec<ReservationId> = Vec::new();
    for sku in skus {
        let Some(stream) = streams.get(sku) else {
            continue;
        };
        let of_sku: Vec<(Uuid, i64)> = live
            .iter()
            .filter(|(held_sku, ..)| held_sku == sku.as_str())
            .map(|(_, id, units)| (*id, *units))
            .collect();
        let mut over = of_sku.iter().map(|(_, units)| units).sum::<i64>() - stream.state.quantity;
        for (id, units) in of_sku {
            if over <= 0 {
                break;
            }
            short.push(ReservationId::from(id));
            over -= units;
        }
    }
    if short.is_empty() {
        return Ok(0);
    }
    let mut holds = HoldStreams::lock_and_load(conn, short.clone(), |id| id.to_string()).await?;
    let metadata = json!({ "reason": "the store sold the units before it heard of the hold" });
    for id in &short {
        let command = HoldCommand::MarkShort { at: now() };
        holds.execute(id, command, metadata.clone()).await?;
    }
    write(conn, holds).await?;
    tracing::warn!(store_id = %store_id, holds = short.len(), "holds marked short");
    Ok(short.len())
}

/// Writes a transaction's hold events, snapshots and rows.
pub async fn write(conn: &mut PgConnection, holds: HoldStreams) -> Result<(), LedgerError> {
    HoldWrite::of(holds.into_changes())?.write(conn).await?;
    Ok(())
}

impl Ledger {
    /// Holds units at a store against what is available there now (a
    /// repeat of the same hold changes nothing).
    pub async fn place_hold(
        &self,
        order: HoldOrder,
        client: Option<String>,
    ) -> Result<HoldRow, LedgerError> {
        retry_conflicts(|| async {
            let mut tx = self.pool.begin().await?;
            let (store_id, sku) = (order.store_id.clone(), order.sku.clone());
            let streams = Streams::lock_and_load(&mut tx, &store_id, [sku.clone()]).await?;
            let quantity = streams
                .get(&sku)
                .filter(|stream| stream.state.is_registered())
                .map(|stream| stream.state.quantity)
                .ok_or_else(|| LedgerError::NotCarried {
                    store_id: store_id.clone(),
                    sku: sku.clone(),
                })?;
            let held = reservations::held(&mut *tx, store_id.as_str(), sku.as_str()).await?;
            let id = order.reservation_id;
            let mut holds = HoldStreams::lock_and_load(&mut tx, [id], |id| id.to_string()).await?;
            let command = HoldCommand::Place {
                order: order.clone(),
                available: quantity - held,
                at: now(),
            };
            holds
                .execute(&id, command, json!({ "admin_client": client }))
                .await?;
            self.finish_hold(tx, holds, id).await
        })
        .await
    }

    /// Lets a held reservation go.
    pub async fn release_hold(
        &self,
        id: ReservationId,
        client: Option<String>,
    ) -> Result<HoldRow, LedgerError> {
        let command = move || HoldCommand::Release { at: now() };
        self.end_hold(id, command, json!({ "admin_client": client }))
            .await
    }

    /// Expires up to `limit` holds past their deadline, one transaction
    /// each; returns the expired ones. Safe to run on every replica at
    /// once: a hold another transaction is ending is skipped, and a hold
    /// that ended meanwhile refuses to expire.
    pub async fn expire_due(&self, limit: i64) -> Result<Vec<HoldRow>, LedgerError> {
        let due: Vec<Uuid> = sqlx::query_scalar(
            "SELECT reservation_id FROM reservations
              WHERE status = 'held' AND expires_at <= now() ORDER BY expires_at LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut expired = Vec::new();
        for id in due.into_iter().map(ReservationId::from) {
            let command = || HoldCommand::Expire { now: now() };
            match self
                .end_hold(id, command, json!({ "reason": "expired" }))
                .await
            {
                Ok(row) => expired.push(row),
                Err(LedgerError::Hold(HoldError::NotHeld { .. } | HoldError::NotDue { .. })) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(expired)
    }

    /// Runs `command` on a placed hold, under its SKU's stock lock, and
    /// records the alert the freed units call for.
    async fn end_hold(
        &self,
        id: ReservationId,
        command: impl Fn() -> HoldCommand,
        metadata: Value,
    ) -> Result<HoldRow, LedgerError> {
        retry_conflicts(|| async {
            let mut tx = self.pool.begin().await?;
            let row = reservations::one(&mut *tx, id)
                .await?
                .ok_or(HoldError::NotFound)?;
            let (store_id, sku): (StoreId, Sku) = stored_pair(&row)?;
            Streams::lock_and_load(&mut tx, &store_id, [sku]).await?;
            let mut holds = HoldStreams::lock_and_load(&mut tx, [id], |id| id.to_string()).await?;
            holds.execute(&id, command(), metadata.clone()).await?;
            self.finish_hold(tx, holds, id).await
        })
        .await
    }

    /// Writes a hold command's result and its SKU's alert, and commits; the
    /// hold's row.
    async fn finish_hold(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
        holds: HoldStreams,
        id: ReservationId,
    ) -> Result<HoldRow, LedgerError> {
        let stream = holds.get(&id).ok_or(HoldError::NotFound)?;
        let row = HoldRow::of(&stream.state, stream.sequence).ok_or(HoldError::NotFound)?;
        write(&mut tx, holds).await?;
        alerts::evaluate(&mut tx, [(row.store_id.clone(), row.sku.clone())]).await?;
        tx.commit().await?;
        Ok(row)
    }
}

/// A stored row's store and SKU as values.
fn stored_pair(row: &HoldRow) -> Result<(StoreId, Sku), LedgerError> {
    let corrupt = |e: domain::ValueError| LedgerError::Database(sqlx::Error::Decode(Box::new(e)));
    Ok((
        row.store_id.parse().map_err(corrupt)?,
        row.sku.parse().map_err(corrupt)?,
    ))
}

/// A reorder point as set, and where its SKU stands against it.
#[derive(Debug, Clone)]
pub struct ReorderPoint {
    pub level: i64,
    pub available: i64,
    pub low: bool,
}

impl Ledger {
    /// Sets a store's reorder point for a SKU and records the alert it
    /// calls for at once (a level at or above what is available makes the
    /// SKU low now).
    pub async fn set_reorder_point(
        &self,
        store_id: &StoreId,
        sku: &Sku,
        level: i64,
    ) -> Result<ReorderPoint, LedgerError> {
        retry_conflicts(|| async {
            let mut tx = self.pool.begin().await?;
            let streams = Streams::lock_and_load(&mut tx, store_id, [sku.clone()]).await?;
            let quantity = streams
                .get(sku)
                .filter(|stream| stream.state.is_registered())
                .map(|stream| stream.state.quantity)
                .ok_or_else(|| LedgerError::NotCarried {
                    store_id: store_id.clone(),
                    sku: sku.clone(),
                })?;
            sqlx::query(
                "INSERT INTO reorder_points (store_id, sku, level) VALUES ($1, $2, $3)
                 ON CONFLICT (store_id, sku) DO UPDATE SET level = EXCLUDED.level",
            )
            .bind(store_id.as_str())
            .bind(sku.as_str())
            .bind(level)
            .execute(&mut *tx)
            .await?;
            alerts::evaluate(&mut tx, [(store_id.to_string(), sku.to_string())]).await?;
            let held = reservations::held(&mut *tx, store_id.as_str(), sku.as_str()).await?;
            let low: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM low_stock WHERE store_id = $1 AND sku = $2)",
            )
            .bind(store_id.as_str())
            .bind(sku.as_str())
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(ReorderPoint {
                level,
                available: quantity - held,
                low,
            })
        })
        .await
    }
}
