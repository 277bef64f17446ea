//! Command execution on central's event store. A batch of changes for one
//! store runs in one transaction: lock and load every touched stream in one
//! query, look up every operation id in one query, decide each change in
//! order in memory, then write events, idempotency records, projections and
//! snapshots in one statement and commit. Races (two pushes of one
//! operation on different streams, a deadlock) roll back and retry.

mod decide;
pub mod holds;
pub mod log;
mod streams;
#[cfg(test)]
mod tests;
pub mod transfers;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::central::{CentralCommand, CentralError, Origin, Outcome};
use domain::idempotency::ChangeFingerprint;
use domain::reservation::{HoldError, ReservationId};
use domain::transfer::{TransferError, TransferId};
use domain::{ChangeKind, Delta, OperationId, Sku, StoreId, Version};
use protocol::StreamVersion;
use protocol::central::BatchChange;
use protocol::text::StoreClient;
use serde_json::{Value, json};
use service_infra::db_retry::retry_conflicts;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::alerts;
use crate::catalogue::CatalogueItem;

pub use decide::{Recorded, decide_batch};
pub use streams::Streams;

/// Why the ledger failed an operation. A refused change is not an error
/// but a decision ([`Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The database failed or holds something it should not.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// The aggregate refused a catalogue item (a negative initial quantity).
    #[error("cannot register {sku}: {error}")]
    Registration { sku: Sku, error: CentralError },
    /// The transfer refused the command.
    #[error(transparent)]
    Transfer(#[from] TransferError),
    /// The reservation refused the command.
    #[error(transparent)]
    Hold(#[from] HoldError),
    /// A transfer names a store that does not carry its SKU.
    #[error("store {store_id} does not carry sku {sku}")]
    NotCarried { store_id: StoreId, sku: Sku },
}

impl From<serde_json::Error> for LedgerError {
    fn from(error: serde_json::Error) -> Self {
        Self::Database(sqlx::Error::Encode(Box::new(error)))
    }
}

/// One change to a store's SKU, as submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub operation_id: OperationId,
    pub sku: Sku,
    /// What kind of movement (a head-office change is an adjustment).
    pub kind: ChangeKind,
    pub delta: Delta,
    /// Compare-and-set: central must be at exactly this version.
    pub expected_version: Option<Version>,
    pub occurred_at: DateTime<Utc>,
    pub origin: Origin,
    /// Why head office made the change; kept in the event's metadata.
    pub reason: Option<String>,
    /// Who made it: the store client (till or staff) for a store's change,
    /// the admin client for a head-office one; kept in the event's metadata
    /// as `store_client` or `admin_client`.
    pub client: Option<String>,
    /// The transfer a store's `transfer_out` ships or `transfer_in`
    /// receives.
    pub transfer: Option<TransferId>,
    /// The reservation a store's sale picks up.
    pub reservation: Option<ReservationId>,
}

impl Change {
    /// A store's change as its worker pushed it, `received_at` now; it
    /// happened at the store's `occurred_at` when given.
    pub fn from_store(change: BatchChange, received_at: DateTime<Utc>) -> Self {
        Self {
            operation_id: change.operation_id,
            sku: change.sku,
            kind: change.kind,
            delta: change.delta,
            expected_version: change.expected_version.map(StreamVersion::get),
            occurred_at: change.occurred_at.map_or(received_at, |at| at.0),
            origin: Origin::Store,
            reason: None,
            client: change.store_client.map(StoreClient::into_inner),
            transfer: change.transfer_id,
            reservation: change.reservation_id,
        }
    }

    /// The parts that decide the outcome; a repeat must match them.
    pub fn fingerprint(&self) -> ChangeFingerprint {
        ChangeFingerprint {
            sku: self.sku.clone(),
            kind: self.kind,
            delta: self.delta,
            expected_version: self.expected_version,
        }
    }

    fn metadata(&self) -> Value {
        let mut metadata = serde_json::Map::new();
        if let Some(reason) = &self.reason {
            metadata.insert("reason".to_owned(), json!(reason));
        }
        if let Some(client) = &self.client {
            let key = match self.origin {
                Origin::Store => "store_client",
                Origin::HeadOffice => "admin_client",
            };
            metadata.insert(key.to_owned(), json!(client));
        }
        Value::Object(metadata)
    }
}

/// Central's answer to one change.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub operation_id: OperationId,
    pub sku: Sku,
    pub outcome: Outcome,
    /// The version after an applied change; otherwise central's current
    /// version (the original figures for a replay). `None` when the SKU is
    /// unknown.
    pub version: Option<Version>,
    /// The quantity that goes with `version`.
    pub quantity: Option<i64>,
    /// Whether this repeats an answer recorded earlier.
    pub replayed: bool,
}

/// What a batch came to: one decision per change, in order, and how many
/// holds it fulfilled and left short.
#[derive(Debug, Default)]
pub struct Applied {
    pub decisions: Vec<Decision>,
    pub holds_short: usize,
    pub holds_fulfilled: usize,
}

/// Central's event store and the operations on it.
#[derive(Clone)]
pub struct Ledger {
    pool: PgPool,
}

#[derive(sqlx::FromRow)]
struct OperationRecord {
    operation_id: Uuid,
    sku: String,
    kind: String,
    delta: i64,
    expected_version: Option<i64>,
    outcome: String,
    version: i64,
    quantity: i64,
}

impl Ledger {
    /// A ledger on central's database.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The database pool, for read paths and health checks.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Decides a batch of changes to one store's streams, in order, and
    /// commits the result. The answer has one decision per change.
    pub async fn apply_batch(
        &self,
        store_id: &StoreId,
        changes: &[Change],
    ) -> Result<Applied, LedgerError> {
        if changes.is_empty() {
            return Ok(Applied::default());
        }
        retry_conflicts(|| self.try_apply_batch(store_id, changes)).await
    }

    async fn try_apply_batch(
        &self,
        store_id: &StoreId,
        changes: &[Change],
    ) -> Result<Applied, LedgerError> {
        let mut tx = self.pool.begin().await?;
        let skus = changes.iter().map(|change| change.sku.clone());
        let mut streams = Streams::lock_and_load(&mut tx, store_id, skus).await?;
        let mut transfers = transfers::lock_for_batch(&mut tx, changes).await?;
        let mut pickups = holds::lock_for_batch(&mut tx, store_id, changes).await?;
        let mut recorded = recorded_operations(&mut tx, store_id, changes).await?;
        let (decisions, operations) =
            decide_batch(&mut streams, &mut transfers, &mut recorded, changes).await;
        let fulfilled = holds::record_pickups(&mut pickups, changes, &decisions).await;
        holds::write(&mut tx, pickups).await?;
        let touched: Vec<(String, String)> = changes
            .iter()
            .map(|change| (store_id.to_string(), change.sku.to_string()))
            .collect();
        let skus: Vec<Sku> = changes.iter().map(|change| change.sku.clone()).collect();
        let holds_short = holds::mark_short(&mut tx, &streams, &skus).await?;
        streams.into_write_batch(operations)?.write(&mut tx).await?;
        transfers::write(&mut tx, transfers).await?;
        alerts::evaluate(&mut tx, touched).await?;
        tx.commit().await?;
        Ok(Applied {
            decisions,
            holds_short,
            holds_fulfilled: fulfilled,
        })
    }

    /// Registers catalogue items for a store; registered SKUs are left
    /// alone. Returns how many were new.
    pub async fn register(
        &self,
        store_id: &StoreId,
        items: &[CatalogueItem],
    ) -> Result<usize, LedgerError> {
        let mut registered = 0;
        for chunk in items.chunks(500) {
            registered += retry_conflicts(|| self.try_register(store_id, chunk)).await?;
        }
        Ok(registered)
    }

    async fn try_register(
        &self,
        store_id: &StoreId,
        items: &[CatalogueItem],
    ) -> Result<usize, LedgerError> {
        let mut tx = self.pool.begin().await?;
        let skus = items.iter().map(|item| item.sku.clone());
        let mut streams = Streams::lock_and_load(&mut tx, store_id, skus).await?;
        let mut new = 0;
        for item in items {
            let command = CentralCommand::Register {
                store_id: store_id.clone(),
                sku: item.sku.clone(),
                name: item.name.clone(),
                quantity: item.quantity,
                at: Utc::now(),
            };
            let events = streams.execute(&item.sku, command, &json!({})).await;
            new += events
                .map_err(|error| LedgerError::Registration {
                    sku: item.sku.clone(),
                    error,
                })?
                .len();
        }
        streams.into_write_batch(Vec::new())?.write(&mut tx).await?;
        tx.commit().await?;
        Ok(new)
    }
}

/// The recorded final outcomes of the batch's operation ids, in one query.
async fn recorded_operations(
    tx: &mut Transaction<'static, Postgres>,
    store_id: &StoreId,
    changes: &[Change],
) -> Result<HashMap<OperationId, Recorded>, sqlx::Error> {
    let ids: Vec<Uuid> = changes.iter().map(|c| c.operation_id.as_uuid()).collect();
    let rows: Vec<OperationRecord> = sqlx::query_as(
        // A join on `unnest` is a primary-key probe per id whatever the
        // planner's statistics say; `= ANY($2)` scans a freshly loaded table.
        "SELECT o.operation_id, o.sku, o.kind, o.delta, o.expected_version, o.outcome, o.version,
                o.quantity
           FROM unnest($2::uuid[]) AS wanted(operation_id)
           JOIN operations o ON o.store_id = $1 AND o.operation_id = wanted.operation_id",
    )
    .bind(store_id.as_str())
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|row| {
            let corrupt =
                || sqlx::Error::Decode(format!("bad operation row {}", row.operation_id).into());
            let recorded = Recorded {
                fingerprint: ChangeFingerprint {
                    sku: row.sku.parse().map_err(|_| corrupt())?,
                    kind: row.kind.parse().map_err(|_| corrupt())?,
                    delta: Delta::try_from(row.delta).map_err(|_| corrupt())?,
                    expected_version: row.expected_version,
                },
                outcome: outcome_from_code(&row.outcome).ok_or_else(corrupt)?,
                version: row.version,
                quantity: row.quantity,
            };
            Ok((OperationId::from(row.operation_id), recorded))
        })
        .collect()
}

/// The final outcome stored under `code`.
fn outcome_from_code(code: &str) -> Option<Outcome> {
    [
        Outcome::Applied,
        Outcome::VersionConflict,
        Outcome::InsufficientStock,
        Outcome::TransferRefused,
    ]
    .into_iter()
    .find(|outcome| outcome.code() == code)
}
