//! Command execution on the store's event store. Every operation writes its
//! events, the projections and the idempotency record in one statement, so
//! they commit together or not at all: local changes by group commit
//! (`group_commit.rs`), everything else in a transaction that locks the SKU
//! streams it touches (`streams.rs`).

mod batch_read;
mod counts;
mod failures;
mod group_commit;
mod pending;
mod stream_cache;
mod streams;
mod stripes;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use domain::store::{ChangeNote, StockCommand, StockError, StockEvent, SyncOutcome};
use domain::{ChangeKind, Delta, OperationId, Sku, Version};
use protocol::worker::CentralHold;
use service_infra::db_retry::retry_conflicts;
use service_infra::event_streams::StreamMoved;
use sqlx::PgPool;
use tokio::sync::Semaphore;

use pending::PendingView;
use stripes::StreamStripes;

pub use counts::{AcceptedCount, CountRequest};
pub use streams::{Appended, StreamTx};

/// Why the ledger refused or failed an operation.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The aggregate refused the command (an unknown SKU, a stale version,
    /// not enough stock, …).
    #[error(transparent)]
    Stock(#[from] StockError),
    /// A repeat of an operation id with a different change.
    #[error("operation id {0} was already used for a different change")]
    OperationIdReused(OperationId),
    /// No change has this operation id.
    #[error("no change with operation id {0}")]
    ChangeNotFound(OperationId),
    /// Only a change central rejected can be reapplied.
    #[error(
        "change {operation_id} is {status}, not rejected: only a rejected change can be reapplied"
    )]
    NotRejected {
        operation_id: OperationId,
        status: String,
    },
    /// Only a quarantined change can be released.
    #[error("change {operation_id} is {status}, not quarantined")]
    NotQuarantined {
        operation_id: OperationId,
        status: String,
    },
    /// Another writer moved the stream (retried like any write conflict,
    /// so a caller sees it only once the retries ran out).
    #[error("{0}")]
    Moved(#[from] StreamMoved),
    /// The database failed or holds something it should not.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// A local stock change as the client asked for it.
#[derive(Debug, Clone)]
pub struct ChangeRequest {
    /// The SKU whose stock changes.
    pub sku: Sku,
    /// The client's idempotency key: a repeat returns the first answer.
    pub operation_id: OperationId,
    /// What kind of movement; its sign must fit ([`ChangeKind::fits`]).
    pub kind: ChangeKind,
    /// Units added (positive) or removed (negative).
    pub delta: Delta,
    /// Compare-and-set: the store must be at exactly this version.
    pub expected_version: Option<Version>,
    /// Why, who, and which refused change it reapplies
    /// ([`Ledger::reapplication`]); kept in the event.
    pub note: ChangeNote,
}

/// An accepted change: the figures right after it.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedChange {
    pub operation_id: OperationId,
    pub sku: Sku,
    pub kind: ChangeKind,
    pub delta: Delta,
    pub quantity: i64,
    pub version: Version,
    /// True when this answers a repeat of an earlier request.
    pub replayed: bool,
    /// When the change was recorded (the original time for a replay).
    pub occurred_at: DateTime<Utc>,
}

/// A change central made to this store, as read from central's log.
#[derive(Debug, Clone)]
pub struct CentralChange {
    pub sku: Sku,
    pub operation_id: OperationId,
    pub delta: Delta,
    pub version: Version,
    pub quantity: i64,
}

impl From<protocol::worker::CentralChange> for CentralChange {
    fn from(change: protocol::worker::CentralChange) -> Self {
        Self {
            sku: change.sku,
            operation_id: change.operation_id,
            delta: change.delta,
            version: change.version.get(),
            quantity: change.quantity.get(),
        }
    }
}

/// The store's event store and the operations on it.
#[derive(Clone)]
pub struct Ledger {
    pool: PgPool,
    stripes: Arc<StreamStripes<group_commit::Job, stream_cache::StreamCache>>,
    /// Turns to commit a group of local changes: changes arriving while
    /// every turn is taken queue up and go together in the next group.
    committers: Arc<Semaphore>,
    /// Observes the size of every group committed, when set.
    group_sizes: Option<prometheus::Histogram>,
}

impl Ledger {
    /// A ledger on the store's database.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            stripes: Arc::default(),
            committers: Arc::new(Semaphore::new(group_commit::COMMITTERS)),
            group_sizes: None,
        }
    }

    /// The same ledger, observing the number of changes in each group
    /// commit on `group_sizes`.
    pub fn counting_groups(self, group_sizes: prometheus::Histogram) -> Self {
        Self {
            group_sizes: Some(group_sizes),
            ..self
        }
    }

    /// The database pool (read paths and health checks use it).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The change that reapplies the rejected change `original`: the same
    /// SKU and delta, unconditional, under the id derived from the
    /// original's ([`OperationId::reapplication`]), so reapplying twice
    /// records one change.
    pub async fn reapplication(
        &self,
        original: OperationId,
        client: Option<String>,
    ) -> Result<ChangeRequest, LedgerError> {
        let found: Option<(String, String, i64, String)> =
            sqlx::query_as("SELECT sku, kind, delta, status FROM changes WHERE operation_id = $1")
                .bind(original.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
        let (sku, kind, delta, status) = found.ok_or(LedgerError::ChangeNotFound(original))?;
        if status != "rejected" {
            return Err(LedgerError::NotRejected {
                operation_id: original,
                status,
            });
        }
        let decode = |error: domain::ValueError| sqlx::Error::Decode(Box::new(error));
        let decode_kind =
            |error: domain::movement::UnknownKind| sqlx::Error::Decode(Box::new(error));
        Ok(ChangeRequest {
            sku: sku.parse().map_err(decode)?,
            operation_id: original.reapplication(),
            kind: kind.parse().map_err(decode_kind)?,
            delta: Delta::try_from(delta).map_err(decode)?,
            expected_version: None,
            note: ChangeNote {
                reason: Some(format!(
                    "reapplies change {original}, which central rejected"
                )),
                reapplies: Some(original),
                client,
                // A person decided the refused change happened: it is
                // reapplied on its own, outside any transfer or pick-up.
                transfer: None,
                reservation: None,
            },
        })
    }

    /// Registers catalogue items; already registered SKUs are left alone.
    /// Returns how many were new.
    pub async fn register(&self, items: &[(Sku, String, i64)]) -> Result<usize, LedgerError> {
        let mut registered = 0;
        for chunk in items.chunks(500) {
            registered += retry_conflicts(|| async {
                let skus: Vec<Sku> = chunk.iter().map(|(sku, ..)| sku.clone()).collect();
                let mut tx = StreamTx::begin(&self.pool, &skus).await?;
                let mut new = 0;
                for (sku, name, quantity) in chunk {
                    let command = StockCommand::Register {
                        sku: sku.clone(),
                        name: name.clone(),
                        quantity: *quantity,
                        at: now(),
                    };
                    new += tx.execute(sku, command).await?.len();
                }
                tx.commit().await?;
                Ok::<_, LedgerError>(new)
            })
            .await?;
        }
        Ok(registered)
    }

    /// Marks pending changes `retrying` after a transient sync failure;
    /// returns how many were still pending.
    pub async fn record_failure(
        &self,
        operation_ids: &[OperationId],
        error: &str,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<u64, LedgerError> {
        Ok(failures::record_failure(&self.pool, operation_ids, error, next_attempt_at).await?)
    }

    /// Sets a pending change aside that central refuses in any batch;
    /// returns whether it was pending and not yet quarantined.
    pub async fn quarantine(
        &self,
        operation_id: OperationId,
        error: &str,
    ) -> Result<bool, LedgerError> {
        Ok(failures::quarantine(&self.pool, operation_id, error).await?)
    }

    /// Puts a quarantined change back in the queue to central, after an
    /// operator fixed what made central refuse it.
    pub async fn release(&self, operation_id: OperationId) -> Result<(), LedgerError> {
        if failures::release(&self.pool, operation_id).await? {
            return Ok(());
        }
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM changes WHERE operation_id = $1")
                .bind(operation_id.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
        Err(match status {
            None => LedgerError::ChangeNotFound(operation_id),
            Some(status) => LedgerError::NotQuarantined {
                operation_id,
                status,
            },
        })
    }

    /// Records central's final answers to pushed changes. Outcomes for
    /// changes no longer pending are ignored, so a repeat is harmless.
    /// Returns the events appended.
    pub async fn record_outcomes(
        &self,
        outcomes: &[(Sku, OperationId, SyncOutcome)],
    ) -> Result<Vec<Appended>, LedgerError> {
        let operations: Vec<OperationId> = outcomes.iter().map(|(_, op, _)| *op).collect();
        let cascading: Vec<Sku> = outcomes
            .iter()
            .filter(|(_, _, outcome)| matches!(outcome, SyncOutcome::Rejected { .. }))
            .map(|(sku, ..)| sku.clone())
            .collect();
        let written = retry_conflicts(|| async {
            let skus: Vec<Sku> = outcomes.iter().map(|(sku, ..)| sku.clone()).collect();
            let mut tx = StreamTx::begin(&self.pool, &skus).await?;
            let mut view = PendingView::load(tx.connection(), &operations, &cascading).await?;
            for (sku, operation_id, outcome) in outcomes {
                let later = match outcome {
                    SyncOutcome::Rejected { .. } => view.later_conditional(*operation_id),
                    SyncOutcome::Applied { .. } => Vec::new(),
                };
                let command = StockCommand::RecordOutcome {
                    operation_id: *operation_id,
                    outcome: *outcome,
                    pending: view.pending(*operation_id),
                    later,
                    at: now(),
                };
                view.observe(&ignore_unknown_sku(tx.execute(sku, command).await)?);
            }
            tx.commit_with_states().await
        })
        .await?;
        Ok(self.keep(written).await)
    }

    /// Applies changes read from central's log, saves central's word on the
    /// store's holds and moves the checkpoint, in one transaction. Changes already reflected are skipped; one of this
    /// store's own pending changes counts as synced.
    pub async fn apply_central_changes(
        &self,
        changes: &[CentralChange],
        holds: &[CentralHold],
        checkpoint: &str,
    ) -> Result<Vec<Appended>, LedgerError> {
        if changes.is_empty() {
            // Only holds and the checkpoint move (a page of the store's own
            // changes, or of holds).
            let mut tx = self.pool.begin().await?;
            crate::holds::save(&mut tx, holds).await?;
            save_checkpoint(&mut *tx, checkpoint).await?;
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let operations: Vec<OperationId> = changes.iter().map(|c| c.operation_id).collect();
        let written = retry_conflicts(|| async {
            let skus: Vec<Sku> = changes.iter().map(|c| c.sku.clone()).collect();
            let mut tx = StreamTx::begin(&self.pool, &skus).await?;
            let mut view = PendingView::load(tx.connection(), &operations, &[]).await?;
            for change in changes {
                let command = StockCommand::ApplyCentralChange {
                    operation_id: change.operation_id,
                    delta: change.delta,
                    central_version: change.version,
                    central_quantity: change.quantity,
                    own_pending: view.pending(change.operation_id),
                    at: now(),
                };
                view.observe(&ignore_unknown_sku(tx.execute(&change.sku, command).await)?);
            }
            crate::holds::save(tx.connection(), holds).await?;
            save_checkpoint(tx.connection(), checkpoint).await?;
            tx.commit_with_states().await
        })
        .await?;
        Ok(self.keep(written).await)
    }

    /// Hands the states a transaction wrote to the writers of their
    /// stripes, so the next local change on them needs no read; returns the
    /// events appended.
    async fn keep(&self, written: streams::Written) -> Vec<Appended> {
        for (sku, stream) in written.landed {
            let mut kept = self.stripes.of(sku.as_str()).write_lock().await;
            kept.keep(sku, stream);
        }
        written.appended
    }
}

/// Records how far the store has read central's log.
async fn save_checkpoint<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    checkpoint: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO central_checkpoint (cursor) VALUES ($1)
         ON CONFLICT (id) DO UPDATE SET cursor = EXCLUDED.cursor",
    )
    .bind(checkpoint)
    .execute(executor)
    .await?;
    Ok(())
}

/// The time recorded in events, at the precision PostgreSQL stores, so the
/// log and the projections agree to the microsecond.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Central only sends changes for SKUs the store registered; one it does not
/// know is skipped rather than blocking the rest of the batch.
fn ignore_unknown_sku(
    result: Result<Vec<StockEvent>, StockError>,
) -> Result<Vec<StockEvent>, LedgerError> {
    match result {
        Ok(events) => Ok(events),
        Err(StockError::SkuNotFound) => Ok(Vec::new()),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_stream_is_a_conflict_to_retry() {
        let moved = LedgerError::from(StreamMoved("ELEC-LAPTOP-001".into()));
        assert!(service_infra::db_retry::is_conflict(&moved));
    }
}
