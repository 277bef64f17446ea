//! Head office's ledger: one stream per (store, SKU). Every change passes the
//! version and stock rules here before central appends it.

mod aggregate;
mod commands;
mod events;
mod outcome;
#[cfg(test)]
mod tests;

pub use aggregate::CentralStock;
pub use commands::{CentralCommand, ChangeRequest, Origin};
pub use events::CentralEvent;
pub use outcome::Outcome;

use crate::values::Version;

/// Why central refused a change. Nothing is appended when it does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CentralError {
    #[error("sku is not registered for this store")]
    SkuNotFound,
    #[error("expected version {expected}, but central is at version {version}")]
    VersionConflict {
        expected: Version,
        version: Version,
        quantity: i64,
    },
    #[error(
        "expected version {expected} is ahead of central's version {version}: an earlier change has not arrived yet"
    )]
    VersionAhead {
        expected: Version,
        version: Version,
        quantity: i64,
    },
    #[error("insufficient stock: {quantity} available, change needs {requested}")]
    InsufficientStock {
        requested: i64,
        version: Version,
        quantity: i64,
    },
    #[error("initial quantity must be >= 0, got {0}")]
    NegativeInitialQuantity(i64),
}

/// Stream id of a (store, SKU) pair in central's event store.
pub fn stream_id(store_id: &crate::StoreId, sku: &crate::Sku) -> String {
    format!("{store_id}/{sku}")
}
