//! What happened to a (store, SKU) stream at central. Events carry the
//! resulting quantity and version, so `apply` is idempotent.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::commands::Origin;
use crate::movement::ChangeKind;
use crate::values::{Delta, OperationId, Sku, StoreId, Version};

/// One fact in a (store, SKU) stream at central.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CentralEvent {
    ItemRegistered {
        store_id: StoreId,
        sku: Sku,
        name: String,
        quantity: i64,
        at: DateTime<Utc>,
    },
    ChangeApplied {
        operation_id: OperationId,
        /// What kind of movement (events from before kinds are
        /// adjustments).
        #[serde(default)]
        kind: ChangeKind,
        delta: Delta,
        expected_version: Option<Version>,
        origin: Origin,
        occurred_at: DateTime<Utc>,
        version: Version,
        quantity: i64,
    },
}

impl CentralEvent {
    /// The event's name in the log.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ItemRegistered { .. } => "ItemRegistered",
            Self::ChangeApplied { .. } => "ChangeApplied",
        }
    }
}

impl DomainEvent for CentralEvent {
    fn event_type(&self) -> String {
        self.name().to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}
