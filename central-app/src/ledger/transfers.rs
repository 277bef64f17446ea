//! Transfers at central: head office requests and cancels them; a store's
//! step (a `transfer_out` or `transfer_in` change naming the transfer) is
//! checked against the transfer before the change applies and recorded on
//! it in the same transaction.

use chrono::{DateTime, SubsecRound, Utc};
use domain::central::Outcome;
use domain::transfer::{Transfer, TransferCommand, TransferError, TransferId, TransferOrder};
use domain::{ChangeKind, StoreId};
use serde_json::{Value, json};
use service_infra::db_retry::retry_conflicts;
use service_infra::event_streams::StreamSet;
use sqlx::PgConnection;

use super::streams::Streams;
use super::{Change, Decision, Ledger, LedgerError};
use crate::projections::transfers::{TransferRow, TransferWrite};

/// The time recorded in transfer events, at the precision PostgreSQL
/// stores, so the log and the `transfers` rows agree to the microsecond.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The transfers one transaction works on.
pub type TransferStreams = StreamSet<TransferId, Transfer, Value>;

/// Locks and loads the transfers `changes` take a step on.
pub async fn lock_for_batch(
    conn: &mut PgConnection,
    changes: &[Change],
) -> Result<TransferStreams, sqlx::Error> {
    let ids: Vec<TransferId> = changes
        .iter()
        .filter_map(|change| change.transfer)
        .collect();
    if ids.is_empty() {
        return Ok(TransferStreams::new([]));
    }
    TransferStreams::lock_and_load(conn, ids, |id| id.to_string()).await
}

/// The transfer command a store's change is, if it names a transfer: a
/// `transfer_out` ships, a `transfer_in` receives; any other kind naming a
/// transfer is no step at all (`None` inside).
fn step_of(store_id: &StoreId, change: &Change) -> Option<(TransferId, Option<TransferCommand>)> {
    let id = change.transfer?;
    let at = change.occurred_at.trunc_subsecs(6);
    let (store_id, operation_id) = (store_id.clone(), change.operation_id);
    let sku = change.sku.clone();
    let command = match change.kind {
        ChangeKind::TransferOut => Some(TransferCommand::Ship {
            store_id,
            sku,
            operation_id,
            shipped: -change.delta.get(),
            at,
        }),
        ChangeKind::TransferIn => Some(TransferCommand::Receive {
            store_id,
            sku,
            operation_id,
            received: change.delta.get(),
            at,
        }),
        _ => None,
    };
    Some((id, command))
}

/// Why the change's transfer refuses its step, if it does (before the
/// change touches stock).
pub fn refusal(
    transfers: &TransferStreams,
    store_id: &StoreId,
    change: &Change,
) -> Option<TransferError> {
    let (id, command) = step_of(store_id, change)?;
    let empty = Transfer::default();
    let transfer = transfers.get(&id).map_or(&empty, |stream| &stream.state);
    let checked = match command {
        Some(TransferCommand::Ship { sku, shipped, .. }) => {
            transfer.check_ship(store_id, &sku, shipped)
        }
        Some(TransferCommand::Receive { sku, received, .. }) => {
            transfer.check_receive(store_id, &sku, received)
        }
        _ => Err(TransferError::WrongStatus {
            status: transfer.status,
            action: "moved by a change that is not a transfer_out or transfer_in",
        }),
    };
    checked.err()
}

/// A decision refusing `change` for its transfer, with the stream's
/// current figures.
pub fn refused(streams: &Streams, change: &Change, error: &TransferError) -> Decision {
    tracing::info!(operation_id = %change.operation_id, transfer = ?change.transfer, %error,
        "transfer step refused");
    let decision = super::decide::refused_as(streams, change, Outcome::TransferRefused);
    if decision.version.is_none() {
        return Decision {
            outcome: Outcome::SkuNotFound,
            ..decision
        };
    }
    decision
}

/// Records an applied change's step on its transfer ([`refusal`] already
/// said the transfer allows it).
pub async fn record_step(transfers: &mut TransferStreams, store_id: &StoreId, change: &Change) {
    let Some((id, Some(command))) = step_of(store_id, change) else {
        return;
    };
    let metadata = json!({ "store_id": store_id, "operation_id": change.operation_id });
    if let Err(error) = transfers.execute(&id, command, metadata).await {
        // Unreachable: the same transaction checked the step.
        tracing::error!(transfer = %id, %error, "transfer step refused after its change applied");
    }
}

/// Writes a transaction's transfer events, snapshots and rows.
pub async fn write(conn: &mut PgConnection, transfers: TransferStreams) -> Result<(), LedgerError> {
    TransferWrite::of(transfers.into_changes())?
        .write(conn)
        .await?;
    Ok(())
}

impl Ledger {
    /// Records head office's request for a transfer (a repeat of the same
    /// request changes nothing). Both stores must carry the SKU.
    pub async fn request_transfer(
        &self,
        order: TransferOrder,
        client: Option<String>,
    ) -> Result<TransferRow, LedgerError> {
        let id = order.transfer_id;
        retry_conflicts(|| async {
            let mut tx = self.pool.begin().await?;
            let mut set =
                TransferStreams::lock_and_load(&mut tx, [id], |id| id.to_string()).await?;
            let command = TransferCommand::Request {
                order: order.clone(),
                at: now(),
            };
            set.execute(&id, command, json!({ "admin_client": client }))
                .await?;
            for store_id in [&order.from_store, &order.to_store] {
                let registered: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM central_stock WHERE store_id = $1 AND sku = $2)",
                )
                .bind(store_id.as_str())
                .bind(order.sku.as_str())
                .fetch_one(&mut *tx)
                .await?;
                if !registered {
                    return Err(LedgerError::NotCarried {
                        store_id: store_id.clone(),
                        sku: order.sku.clone(),
                    });
                }
            }
            self.finish(tx, set, id).await
        })
        .await
    }

    /// Calls off a transfer that has not shipped.
    pub async fn cancel_transfer(
        &self,
        id: TransferId,
        client: Option<String>,
    ) -> Result<TransferRow, LedgerError> {
        retry_conflicts(|| async {
            let mut tx = self.pool.begin().await?;
            let mut set =
                TransferStreams::lock_and_load(&mut tx, [id], |id| id.to_string()).await?;
            let command = TransferCommand::Cancel { at: now() };
            set.execute(&id, command, json!({ "admin_client": client }))
                .await?;
            self.finish(tx, set, id).await
        })
        .await
    }

    /// Writes a transfer command's result and commits; the transfer's row.
    async fn finish(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
        set: TransferStreams,
        id: TransferId,
    ) -> Result<TransferRow, LedgerError> {
        let stream = set.get(&id).ok_or(TransferError::NotFound)?;
        let row = TransferRow::of(&stream.state, stream.sequence).ok_or(TransferError::NotFound)?;
        write(&mut tx, set).await?;
        tx.commit().await?;
        Ok(row)
    }
}
