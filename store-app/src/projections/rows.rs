//! How events map to projection rows: the one place both the live write path
//! and `rebuild-projections` take their rows from.

use chrono::{DateTime, Utc};
use domain::store::{StockEvent, StockItem};
use domain::{ChangeKind, Sku};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A row of the `stock` projection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct StockRow {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub confirmed_quantity: i64,
    pub confirmed_version: i64,
    pub version: i64,
    pub pending_changes: i32,
    pub last_operation_id: Option<Uuid>,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub last_counted_at: Option<DateTime<Utc>>,
}

impl StockRow {
    /// The row for a SKU's current state; `last_operation_id` is the latest
    /// local change among `events` (or none, to keep the stored one).
    pub fn of(sku: &Sku, item: &StockItem, events: &[StockEvent]) -> Self {
        let last_operation_id = events.iter().rev().find_map(|event| match event {
            StockEvent::StockAdjusted { operation_id, .. } => Some(operation_id.as_uuid()),
            _ => None,
        });
        Self {
            sku: sku.to_string(),
            name: item.name.clone(),
            quantity: item.quantity,
            confirmed_quantity: item.confirmed_quantity,
            confirmed_version: item.confirmed_version,
            version: item.version,
            pending_changes: i32::try_from(item.pending_changes()).unwrap_or(i32::MAX),
            last_operation_id,
            last_synced_at: item.last_synced_at,
            last_counted_at: item.last_counted_at,
        }
    }
}

/// A row of the `changes` projection, as the log defines it (the worker's
/// retry bookkeeping is not part of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ChangeRow {
    pub operation_id: Uuid,
    pub sku: String,
    /// The event's global position; `None` on the live write path, where
    /// the insert assigns it.
    pub position: Option<i64>,
    /// The movement's kind (`sale`, `receipt`, …).
    pub kind: String,
    pub delta: i64,
    pub expected_version: Option<i64>,
    pub reason: Option<String>,
    /// The store client whose token made the change.
    pub client_id: Option<String>,
    /// The transfer the change ships or receives.
    pub transfer_id: Option<Uuid>,
    /// The reservation the sale picks up.
    pub reservation_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub quantity_after: i64,
    pub version_after: i64,
    pub status: String,
    pub result_code: Option<String>,
    pub because_of: Option<Uuid>,
    pub central_version: Option<i64>,
    pub central_quantity: Option<i64>,
    pub settled_at: Option<DateTime<Utc>>,
}

/// A row of the `counts` projection: one physical count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CountRow {
    pub operation_id: Uuid,
    pub sku: String,
    pub counted: i64,
    /// `counted` minus the store's quantity before the count; 0 when it
    /// matched.
    pub delta: i64,
    pub expected_version: Option<i64>,
    pub reason: Option<String>,
    pub client_id: Option<String>,
    pub counted_at: DateTime<Utc>,
    pub version_after: i64,
}

/// The `counts` row an event makes: a count that differed (a
/// `StockAdjusted` of kind `count`) or one that matched (`StockCounted`).
pub fn count_row(sku: &Sku, event: &StockEvent) -> Option<CountRow> {
    let (operation_id, counted, delta, expected_version, reason, client, at, version) = match event
    {
        StockEvent::StockAdjusted {
            operation_id,
            kind: ChangeKind::Count,
            delta,
            expected_version,
            reason,
            client,
            at,
            quantity,
            version,
            ..
        } => (
            operation_id,
            quantity,
            delta.get(),
            expected_version,
            reason,
            client,
            at,
            version,
        ),
        StockEvent::StockCounted {
            operation_id,
            counted,
            expected_version,
            reason,
            client,
            at,
            version,
            ..
        } => (
            operation_id,
            counted,
            0,
            expected_version,
            reason,
            client,
            at,
            version,
        ),
        _ => return None,
    };
    Some(CountRow {
        operation_id: operation_id.as_uuid(),
        sku: sku.to_string(),
        counted: *counted,
        delta,
        expected_version: *expected_version,
        reason: reason.clone(),
        client_id: client.clone(),
        counted_at: *at,
        version_after: *version,
    })
}

/// A change's final status, set by a sync outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settlement {
    pub operation_id: Uuid,
    pub status: &'static str,
    pub result_code: Option<&'static str>,
    pub because_of: Option<Uuid>,
    pub central_version: i64,
    pub central_quantity: i64,
    pub settled_at: DateTime<Utc>,
}

/// What an event does to the `changes` projection.
pub enum ChangeUpdate {
    Insert(Box<ChangeRow>),
    Settle(Settlement),
}

/// Maps one event of a SKU's stream to its `changes` update, if any;
/// `position` is the event's, when it is already known.
pub fn change_update(sku: &Sku, position: Option<i64>, event: &StockEvent) -> Option<ChangeUpdate> {
    match event {
        StockEvent::StockAdjusted {
            operation_id,
            kind,
            delta,
            expected_version,
            reason,
            client,
            transfer,
            reservation,
            at,
            quantity,
            version,
            ..
        } => Some(ChangeUpdate::Insert(Box::new(ChangeRow {
            operation_id: operation_id.as_uuid(),
            sku: sku.to_string(),
            position,
            kind: kind.as_str().to_owned(),
            delta: delta.get(),
            expected_version: *expected_version,
            reason: reason.clone(),
            client_id: client.clone(),
            transfer_id: transfer.map(|id| id.as_uuid()),
            reservation_id: reservation.map(|id| id.as_uuid()),
            occurred_at: *at,
            quantity_after: *quantity,
            version_after: *version,
            status: "pending".into(),
            result_code: None,
            because_of: None,
            central_version: None,
            central_quantity: None,
            settled_at: None,
        }))),
        StockEvent::ChangeSynced {
            operation_id,
            central_version,
            central_quantity,
            at,
            ..
        } => Some(ChangeUpdate::Settle(Settlement {
            operation_id: operation_id.as_uuid(),
            status: "synced",
            result_code: None,
            because_of: None,
            central_version: *central_version,
            central_quantity: *central_quantity,
            settled_at: *at,
        })),
        StockEvent::ChangeRejected {
            operation_id,
            reason,
            because_of,
            central_version,
            central_quantity,
            at,
            ..
        } => Some(ChangeUpdate::Settle(Settlement {
            operation_id: operation_id.as_uuid(),
            status: "rejected",
            result_code: Some(reason.code()),
            because_of: because_of.map(|op| op.as_uuid()),
            central_version: *central_version,
            central_quantity: *central_quantity,
            settled_at: *at,
        })),
        StockEvent::ItemRegistered { .. }
        | StockEvent::StockCounted { .. }
        | StockEvent::CentralChangeApplied { .. } => None,
    }
}

impl ChangeRow {
    /// Applies a settlement to the row (used when rebuilding in memory).
    pub fn settle(&mut self, settlement: &Settlement) {
        self.status = settlement.status.into();
        self.result_code = settlement.result_code.map(Into::into);
        self.because_of = settlement.because_of;
        self.central_version = Some(settlement.central_version);
        self.central_quantity = Some(settlement.central_quantity);
        self.settled_at = Some(settlement.settled_at);
    }
}
