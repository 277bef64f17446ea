//! Stock sent from one store to another, decided at central: head office
//! requests it, the source store ships (a `transfer_out` change), the
//! destination receives (a `transfer_in` change). Each step of a store is
//! a change that syncs like any other, under an operation id derived from
//! the transfer's, so a step taken twice is one change.

mod aggregate;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::{OperationId, Sku, StoreId, ValueError};

pub use aggregate::Transfer;

/// Identifies one transfer across the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransferId(Uuid);

/// The UUIDv5 namespace of [`TransferId::step`].
const STEP_NAMESPACE: Uuid = Uuid::from_u128(0x3f0c_91d2_7a4e_4b6f_8c15_d2e9_60a4_7b38);

impl TransferId {
    /// A fresh time-ordered id.
    pub fn new_v7() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// The operation id of a store's step on this transfer: derived
    /// (UUIDv5), so shipping or receiving twice is one change.
    pub fn step(&self, step: TransferStep) -> OperationId {
        let name = [self.0.as_bytes().as_slice(), step.as_str().as_bytes()].concat();
        OperationId::from(Uuid::new_v5(&STEP_NAMESPACE, &name))
    }
}

impl From<Uuid> for TransferId {
    fn from(value: Uuid) -> Self {
        Self(value)
    }
}

impl FromStr for TransferId {
    type Err = ValueError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(value)
            .map(Self)
            .map_err(|_| ValueError::TransferId(value.to_owned()))
    }
}

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A store's step on a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferStep {
    Ship,
    Receive,
}

impl TransferStep {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ship => "ship",
            Self::Receive => "receive",
        }
    }
}

/// Where a transfer stands at central.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// Asked for; the source store has not shipped yet.
    #[default]
    Requested,
    /// The source store's shipment is applied: the units are in transit.
    Shipped,
    /// The destination's receipt is applied. Final.
    Received,
    /// Called off before it shipped. Final.
    Cancelled,
}

impl TransferStatus {
    /// Every status, in the order above.
    pub const ALL: [TransferStatus; 4] = [
        Self::Requested,
        Self::Shipped,
        Self::Received,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Shipped => "shipped",
            Self::Received => "received",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for TransferStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TransferStatus {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| ValueError::TransferStatus(text.to_owned()))
    }
}

/// What head office asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferOrder {
    pub transfer_id: TransferId,
    pub from_store: StoreId,
    pub to_store: StoreId,
    pub sku: Sku,
    /// Units to send, > 0.
    pub quantity: i64,
}

/// What can be asked of a transfer.
#[derive(Debug, Clone, PartialEq)]
pub enum TransferCommand {
    /// Head office asks for a transfer. Asking again with the same order
    /// does nothing.
    Request {
        order: TransferOrder,
        at: DateTime<Utc>,
    },
    /// Head office calls it off (only before it shipped).
    Cancel { at: DateTime<Utc> },
    /// The source store's `transfer_out` change of `-shipped` units.
    Ship {
        store_id: StoreId,
        sku: Sku,
        operation_id: OperationId,
        shipped: i64,
        at: DateTime<Utc>,
    },
    /// The destination's `transfer_in` change of `received` units.
    Receive {
        store_id: StoreId,
        sku: Sku,
        operation_id: OperationId,
        received: i64,
        at: DateTime<Utc>,
    },
}

/// What happened to a transfer. Each event carries the status it leads to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TransferEvent {
    TransferRequested {
        #[serde(flatten)]
        order: TransferOrder,
        at: DateTime<Utc>,
    },
    TransferCancelled {
        transfer_id: TransferId,
        at: DateTime<Utc>,
    },
    TransferShipped {
        transfer_id: TransferId,
        operation_id: OperationId,
        shipped: i64,
        at: DateTime<Utc>,
    },
    TransferReceived {
        transfer_id: TransferId,
        operation_id: OperationId,
        received: i64,
        /// Shipped minus received: units lost (> 0) or found (< 0) on the
        /// way.
        discrepancy: i64,
        at: DateTime<Utc>,
    },
}

impl TransferEvent {
    /// The event's name in the log.
    pub fn name(&self) -> &'static str {
        match self {
            Self::TransferRequested { .. } => "TransferRequested",
            Self::TransferCancelled { .. } => "TransferCancelled",
            Self::TransferShipped { .. } => "TransferShipped",
            Self::TransferReceived { .. } => "TransferReceived",
        }
    }
}

impl DomainEvent for TransferEvent {
    fn event_type(&self) -> String {
        self.name().to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// Why a transfer command was refused. Nothing is appended when it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("a transfer needs two different stores")]
    SameStore,
    #[error("a transfer moves at least one unit, got {0}")]
    NonPositiveQuantity(i64),
    #[error("no such transfer")]
    NotFound,
    #[error("transfer id already used for a different transfer")]
    IdReused,
    #[error("the transfer is {status}: only a requested transfer can be {action}")]
    WrongStatus {
        status: TransferStatus,
        action: &'static str,
    },
    #[error("store {store_id} is not the transfer's {side}")]
    WrongStore {
        store_id: StoreId,
        side: &'static str,
    },
    #[error("the transfer moves {expected} units, the change {got}")]
    WrongQuantity { expected: i64, got: i64 },
    #[error("the transfer moves {expected}, the change {got}")]
    WrongSku { expected: Sku, got: Sku },
}
