//! What can be asked of a (store, SKU) stream at central.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::movement::ChangeKind;
use crate::values::{Delta, OperationId, Sku, StoreId, Version};

/// Where a change was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Pushed by the sync worker from the store's log.
    Store,
    /// Made at head office (count correction, online order reservation).
    HeadOffice,
}

/// One change to a (store, SKU) stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRequest {
    pub operation_id: OperationId,
    /// What kind of movement (a head-office change is an adjustment).
    pub kind: ChangeKind,
    pub delta: Delta,
    /// Compare-and-set: central must be at exactly this version.
    pub expected_version: Option<Version>,
    pub occurred_at: DateTime<Utc>,
    pub origin: Origin,
    /// An earlier change of the same stream in the same batch was refused.
    /// A compare-and-set change made on top of it must not apply on another
    /// history that merely reached the same version number.
    pub follows_refused_change: bool,
}

/// A request to a (store, SKU) stream at central.
#[derive(Debug, Clone, PartialEq)]
pub enum CentralCommand {
    /// Adds the SKU to a store's catalogue at version 0; a repeat does nothing.
    Register {
        store_id: StoreId,
        sku: Sku,
        name: String,
        quantity: i64,
        at: DateTime<Utc>,
    },
    /// Applies a change if the version and stock rules allow it.
    ApplyChange(ChangeRequest),
}
