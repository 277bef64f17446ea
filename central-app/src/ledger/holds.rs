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
use super::{Change, Decision, Ledger, LedgerError};
use crate::alerts;
use crate::projections::reservations::{self, HoldRow, HoldWrite};
use domain::central::Outcome;

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
    let sku_of: std::collections::HashMap<ReservationId, String> = live
        .iter()
        .map(|(sku, id, _)| (ReservationId::from(*id), sku.clone()))
        .collect();
    let stream = |id: &ReservationId| {
        let sku = sku_of.get(id).map_or("", String::as_str);
        reservations::stream_id(&store_id, sku, id)
    };
    let mut holds = HoldStreams::lock_and_load(conn, short.clone(), stream).await?;
    let metadata = json!({ "reason": "the store sold the units before it heard of the hold" });
    for id in &short {
        let command = HoldCommand::MarkShort { at: now() };
        holds.execute(id, command, metadata.clone()).await?;
    }
    write(conn, holds).await?;
    tracing::warn!(store_id = %store_id, holds = short.len(), "holds marked short");
    Ok(short.len())
}

/// Locks and loads the holds a batch's sales pick up (their stream ids
/// need the SKU, which the change names).
pub async fn lock_for_batch(
    conn: &mut PgConnection,
    store_id: &StoreId,
    changes: &[Change],
) -> Result<HoldStreams, sqlx::Error> {
    let sku_of: std::collections::HashMap<ReservationId, &Sku> = changes
        .iter()
        .filter_map(|change| Some((change.reservation?, &change.sku)))
        .collect();
    let stream = |id: &ReservationId| {
        let sku = sku_of.get(id).map_or("", |sku| sku.as_str());
        reservations::stream_id(store_id.as_str(), sku, id)
    };
    if sku_of.is_empty() {
        return Ok(HoldStreams::new([]));
    }
    HoldStreams::lock_and_load(conn, sku_of.keys().copied(), stream).await
}

/// Marks the holds the batch's newly applied sales picked up `fulfilled`;
/// returns how many. A pick-up is a sale that happened, so it is applied
/// whatever became of its hold: a hold that is no longer held, or that
/// does not match the sale (another store, SKU or quantity), stays as it
/// is and the sale counts as a plain one.
pub async fn record_pickups(
    holds: &mut HoldStreams,
    changes: &[Change],
    decisions: &[Decision],
) -> usize {
    let mut fulfilled = 0;
    for (change, decision) in changes.iter().zip(decisions) {
        let Some(id) = change.reservation else {
            continue;
        };
        if decision.outcome != Outcome::Applied || decision.replayed {
            continue;
        }
        let fits = holds
            .get(&id)
            .and_then(|stream| stream.state.order.as_ref())
            .is_some_and(|order| {
                order.sku == change.sku
                    && change.kind == domain::ChangeKind::Sale
                    && change.delta.get() == -order.quantity
            });
        let command = HoldCommand::Fulfil {
            operation_id: change.operation_id,
            at: change.occurred_at.trunc_subsecs(6),
        };
        let metadata = json!({ "operation_id": change.operation_id });
        match fits {
            true => match holds.execute(&id, command, metadata).await {
                Ok(_) => fulfilled += 1,
                Err(error) => tracing::warn!(reservation = %id, %error,
                    "a pick-up of a hold that is no longer held: the sale stands"),
            },
            false => tracing::warn!(reservation = %id,
                "a pick-up that does not match its hold: applied as a plain sale"),
        }
    }
    fulfilled
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
            let id = order.reservation_id;
            // The stream is per store and SKU: an id used at another store or
            // for another SKU would otherwise open a second stream.
            if let Some(existing) = reservations::one(&mut *tx, id).await?
                && (existing.store_id != store_id.as_str() || existing.sku != sku.as_str())
            {
                return Err(HoldError::IdReused.into());
            }
            let held = reservations::held(&mut *tx, store_id.as_str(), sku.as_str()).await?;
            let stream =
                |id: &ReservationId| reservations::stream_id(store_id.as_str(), sku.as_str(), id);
            let mut holds = HoldStreams::lock_and_load(&mut tx, [id], stream).await?;
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
                // One hold that cannot expire must not hold up the others.
                Err(error) => tracing::warn!(reservation = %id, %error, "could not expire a hold"),
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
            let stream = |id: &ReservationId| reservations::stream_id(&row.store_id, &row.sku, id);
            let mut holds = HoldStreams::lock_and_load(&mut tx, [id], stream).await?;
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
