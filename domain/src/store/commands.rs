//! What can be asked of a SKU's stream at a store.

use chrono::{DateTime, Utc};

use crate::movement::ChangeKind;
use crate::reservation::ReservationId;
use crate::transfer::TransferId;
use crate::values::{Delta, OperationId, Sku, Version};

/// A request to the store's SKU stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StockCommand {
    /// Adds the SKU to the store's catalogue at central version 0. Registering
    /// an already registered SKU does nothing.
    Register {
        sku: Sku,
        name: String,
        quantity: i64,
        at: DateTime<Utc>,
    },
    /// A local stock movement. With `expected_version` it is a compare-and-set
    /// against the store's current version.
    Adjust {
        operation_id: OperationId,
        kind: ChangeKind,
        delta: Delta,
        expected_version: Option<Version>,
        note: ChangeNote,
        /// Units held for reservations that a sale may not take (the
        /// pick-up of a hold does not count its own units).
        held: i64,
        at: DateTime<Utc>,
    },
    /// A physical count: the shelf holds `counted`. The difference from the
    /// store's quantity becomes a change of kind `count`; a count that
    /// matches is recorded as a fact of its own. With `expected_version` it
    /// is a compare-and-set like an adjustment.
    Count {
        operation_id: OperationId,
        counted: i64,
        expected_version: Option<Version>,
        note: ChangeNote,
        at: DateTime<Utc>,
    },
    /// Central's final answer to one of this store's changes.
    RecordOutcome {
        operation_id: OperationId,
        outcome: SyncOutcome,
        /// The change if it is still pending (none: already settled).
        pending: Option<PendingChange>,
        /// The SKU's pending changes made after it, in log order.
        later: Vec<PendingChange>,
        at: DateTime<Utc>,
    },
    /// A change central applied to this store's stream (head office, or this
    /// store's own change seen from central's log).
    ApplyCentralChange {
        operation_id: OperationId,
        delta: Delta,
        central_version: Version,
        central_quantity: i64,
        /// Set when `operation_id` is one of this store's pending changes.
        own_pending: Option<PendingChange>,
        at: DateTime<Utc>,
    },
}

/// A local change central has not answered yet. The aggregate keeps only
/// counts and sums; the ledger hands it the pending changes a command needs,
/// so a stream's state stays the same size however many changes wait.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingChange {
    pub operation_id: OperationId,
    pub delta: Delta,
    /// Set for compare-and-set changes: central must be at this version.
    pub expected_version: Option<Version>,
}

/// Central's final answer to a pushed change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Applied; central's stream is now at `version` with `quantity`.
    Applied { version: Version, quantity: i64 },
    /// Refused for good; central's stream is at `version` with `quantity`.
    Rejected {
        reason: RejectionReason,
        version: Version,
        quantity: i64,
    },
}

/// Why central refused a change for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RejectionReason {
    VersionConflict,
    InsufficientStock,
    /// The transfer did not allow the step (it was cancelled first).
    TransferRefused,
}

impl RejectionReason {
    /// The stable error code used in APIs.
    pub fn code(self) -> &'static str {
        match self {
            Self::VersionConflict => "version_conflict",
            Self::InsufficientStock => "insufficient_stock",
            Self::TransferRefused => "transfer_refused",
        }
    }
}

/// What a local change records beside its figures: why, who, and which
/// refused change it reapplies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeNote {
    /// Why, in the client's words.
    pub reason: Option<String>,
    /// The refused change this one reapplies.
    pub reapplies: Option<OperationId>,
    /// The store client (till or staff) whose token made the change.
    pub client: Option<String>,
    /// The transfer this change ships or receives.
    pub transfer: Option<TransferId>,
    /// The reservation this sale picks up.
    pub reservation: Option<ReservationId>,
}
