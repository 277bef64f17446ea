//! What happened to a SKU at a store. Every event carries the state it leads
//! to (`quantity` and `version` are the store's figures after it), so
//! replaying it twice changes nothing and readers never recompute.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::commands::RejectionReason;
use crate::movement::ChangeKind;
use crate::reservation::ReservationId;
use crate::transfer::TransferId;
use crate::values::{Delta, OperationId, Sku, Version};

/// One fact in a store's SKU stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StockEvent {
    ItemRegistered {
        sku: Sku,
        name: String,
        quantity: i64,
        at: DateTime<Utc>,
    },
    /// A local change, pending until central answers.
    StockAdjusted {
        operation_id: OperationId,
        /// What kind of movement (events from before kinds are
        /// adjustments).
        #[serde(default)]
        kind: ChangeKind,
        delta: Delta,
        expected_version: Option<Version>,
        reason: Option<String>,
        /// The refused change this one reapplies, when a person decided the
        /// refused change did happen.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reapplies: Option<OperationId>,
        /// The store client (till or staff) whose token made the change;
        /// none when the local API ran without authentication.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<String>,
        /// The transfer this change ships (`transfer_out`) or receives
        /// (`transfer_in`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transfer: Option<TransferId>,
        /// The reservation this sale picks up.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reservation: Option<ReservationId>,
        at: DateTime<Utc>,
        /// The store's quantity after the change.
        quantity: i64,
        /// The version central will have once this change is applied.
        version: Version,
    },
    /// A physical count that matched the store's quantity: nothing moved,
    /// so nothing goes to central, but the SKU was counted. (A count that
    /// differs is a `StockAdjusted` of kind `count`.)
    StockCounted {
        operation_id: OperationId,
        counted: i64,
        expected_version: Option<Version>,
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<String>,
        at: DateTime<Utc>,
        /// The store's figures, unchanged by the count.
        quantity: i64,
        version: Version,
    },
    /// Central applied the change.
    ChangeSynced {
        operation_id: OperationId,
        central_version: Version,
        central_quantity: i64,
        at: DateTime<Utc>,
        quantity: i64,
        version: Version,
    },
    /// Central refused the change, or a change it depended on: the delta is
    /// given back.
    ChangeRejected {
        operation_id: OperationId,
        reason: RejectionReason,
        /// The refused change this one depended on, when it was not refused
        /// itself.
        because_of: Option<OperationId>,
        central_version: Version,
        central_quantity: i64,
        at: DateTime<Utc>,
        quantity: i64,
        version: Version,
    },
    /// A change made at central reached the store.
    CentralChangeApplied {
        operation_id: OperationId,
        delta: Delta,
        central_version: Version,
        central_quantity: i64,
        at: DateTime<Utc>,
        quantity: i64,
        version: Version,
    },
}

impl StockEvent {
    /// The change this event is about, if any.
    pub fn operation_id(&self) -> Option<OperationId> {
        match self {
            Self::ItemRegistered { .. } => None,
            Self::StockAdjusted { operation_id, .. }
            | Self::StockCounted { operation_id, .. }
            | Self::ChangeSynced { operation_id, .. }
            | Self::ChangeRejected { operation_id, .. }
            | Self::CentralChangeApplied { operation_id, .. } => Some(*operation_id),
        }
    }

    /// The event's name in the log.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ItemRegistered { .. } => "ItemRegistered",
            Self::StockAdjusted { .. } => "StockAdjusted",
            Self::StockCounted { .. } => "StockCounted",
            Self::ChangeSynced { .. } => "ChangeSynced",
            Self::ChangeRejected { .. } => "ChangeRejected",
            Self::CentralChangeApplied { .. } => "CentralChangeApplied",
        }
    }
}

impl DomainEvent for StockEvent {
    fn event_type(&self) -> String {
        self.name().to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}
