//! Physical counts: the store turns "the shelf holds N" into the change
//! that makes its quantity N, or records that it already was.

use chrono::{DateTime, Utc};
use domain::store::{ChangeNote, StockCommand, StockEvent};
use domain::{OperationId, Sku, Version};
use service_infra::db_retry::retry_conflicts;

use super::{Ledger, LedgerError, StreamTx, now};

/// A count as the client sent it.
#[derive(Debug, Clone)]
pub struct CountRequest {
    pub sku: Sku,
    /// The client's idempotency key, shared with changes: one operation id
    /// is one count or one change.
    pub operation_id: OperationId,
    /// What the shelf holds.
    pub counted: i64,
    /// Compare-and-set: the store must be at exactly this version.
    pub expected_version: Option<Version>,
    pub note: ChangeNote,
}

/// A recorded count and the figures right after it.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedCount {
    pub operation_id: OperationId,
    pub sku: Sku,
    pub counted: i64,
    /// The change the count made (`counted` minus the quantity before); 0
    /// when the count matched and nothing goes to central.
    pub delta: i64,
    pub quantity: i64,
    pub version: Version,
    /// True when this answers a repeat of an earlier request.
    pub replayed: bool,
    pub counted_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct RecordedCount {
    sku: String,
    counted: i64,
    delta: i64,
    expected_version: Option<i64>,
    version_after: i64,
    counted_at: DateTime<Utc>,
}

impl Ledger {
    /// Records a physical count, or answers a repeat of one.
    pub async fn count(&self, request: &CountRequest) -> Result<AcceptedCount, LedgerError> {
        let mut kept = self.stripes.of(request.sku.as_str()).write_lock().await;
        // The count moves the stream behind the kept state's back.
        kept.forget(&request.sku);
        retry_conflicts(|| self.try_count(request)).await
    }

    async fn try_count(&self, request: &CountRequest) -> Result<AcceptedCount, LedgerError> {
        let mut tx = StreamTx::begin(&self.pool, std::slice::from_ref(&request.sku)).await?;
        let operation = request.operation_id.as_uuid();
        let previous: Option<RecordedCount> = sqlx::query_as(
            "SELECT sku, counted, delta, expected_version, version_after, counted_at
               FROM counts WHERE operation_id = $1",
        )
        .bind(operation)
        .fetch_optional(tx.connection())
        .await?;
        if let Some(previous) = previous {
            return replay(request, previous);
        }
        let is_a_change: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM changes WHERE operation_id = $1)")
                .bind(operation)
                .fetch_one(tx.connection())
                .await?;
        if is_a_change {
            return Err(LedgerError::OperationIdReused(request.operation_id));
        }
        let command = StockCommand::Count {
            operation_id: request.operation_id,
            counted: request.counted,
            expected_version: request.expected_version,
            note: request.note.clone(),
            at: now(),
        };
        let events = tx.execute(&request.sku, command).await?;
        tx.commit().await?;
        let (delta, quantity, version, at) = match events.as_slice() {
            [
                StockEvent::StockAdjusted {
                    delta,
                    quantity,
                    version,
                    at,
                    ..
                },
            ] => (delta.get(), *quantity, *version, *at),
            [
                StockEvent::StockCounted {
                    quantity,
                    version,
                    at,
                    ..
                },
            ] => (0, *quantity, *version, *at),
            other => unreachable!("a count emits one StockAdjusted or StockCounted, got {other:?}"),
        };
        Ok(AcceptedCount {
            operation_id: request.operation_id,
            sku: request.sku.clone(),
            counted: request.counted,
            delta,
            quantity,
            version,
            replayed: false,
            counted_at: at,
        })
    }
}

/// Answers a repeated count: the original figures for the same count,
/// `operation_id_reused` for any other.
fn replay(request: &CountRequest, previous: RecordedCount) -> Result<AcceptedCount, LedgerError> {
    let same = previous.sku == request.sku.as_str()
        && previous.counted == request.counted
        && previous.expected_version == request.expected_version;
    if !same {
        return Err(LedgerError::OperationIdReused(request.operation_id));
    }
    Ok(AcceptedCount {
        operation_id: request.operation_id,
        sku: request.sku.clone(),
        counted: previous.counted,
        delta: previous.delta,
        quantity: previous.counted,
        version: previous.version_after,
        replayed: true,
        counted_at: previous.counted_at,
    })
}
