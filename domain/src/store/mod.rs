//! A store's ledger: one stream per SKU holding the store's own changes,
//! what central answered for each, and changes central made to this store.

mod aggregate;
mod commands;
mod events;
#[cfg(test)]
mod tests;

pub use aggregate::StockItem;
pub use commands::{ChangeNote, PendingChange, RejectionReason, StockCommand, SyncOutcome};
pub use events::StockEvent;

use crate::movement::ChangeKind;
use crate::values::Version;

/// Why the store refused a command. Nothing is written when it does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    #[error("sku is not registered at this store")]
    SkuNotFound,
    #[error("expected version {expected}, but the current version is {current}")]
    VersionConflict {
        expected: Version,
        current: Version,
        quantity: i64,
    },
    #[error("insufficient stock: {available} available, change needs {requested}")]
    InsufficientStock { available: i64, requested: i64 },
    #[error(
        "insufficient available stock: {available} not held for reservations, sale needs {requested}"
    )]
    InsufficientAvailable { available: i64, requested: i64 },
    #[error("initial quantity must be >= 0, got {0}")]
    NegativeInitialQuantity(i64),
    #[error("a change of kind {kind} must have a {} delta, got {delta}", kind.sign())]
    SignDoesNotFitKind { kind: ChangeKind, delta: i64 },
    #[error("a count must be >= 0, got {0}")]
    NegativeCount(i64),
    #[error(
        "a count of {counted} is {difference} away from the store's quantity: more than one change may move"
    )]
    CountTooFar { counted: i64, difference: i64 },
}
