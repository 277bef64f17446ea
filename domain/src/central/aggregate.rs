//! The central (store, SKU) aggregate: the version-conflict and stock rules.

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use super::CentralError;
use super::commands::{CentralCommand, ChangeRequest};
use super::events::CentralEvent;
use crate::values::{Sku, StoreId, Version};

/// A store's SKU as head office sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CentralStock {
    pub store_id: Option<StoreId>,
    pub sku: Option<Sku>,
    pub name: String,
    pub quantity: i64,
    pub version: Version,
}

impl CentralStock {
    /// Whether the SKU exists for the store at central.
    pub fn is_registered(&self) -> bool {
        self.sku.is_some()
    }

    /// Checks a change against the version and stock rules.
    pub fn decide(&self, change: &ChangeRequest) -> Result<CentralEvent, CentralError> {
        if !self.is_registered() {
            return Err(CentralError::SkuNotFound);
        }
        let (version, quantity) = (self.version, self.quantity);
        if let Some(expected) = change.expected_version {
            if expected < version || change.follows_refused_change {
                return Err(CentralError::VersionConflict {
                    expected,
                    version,
                    quantity,
                });
            }
            if expected > version {
                return Err(CentralError::VersionAhead {
                    expected,
                    version,
                    quantity,
                });
            }
        }
        let resulting = quantity + change.delta.get();
        if resulting < 0 {
            return Err(CentralError::InsufficientStock {
                requested: change.delta.get(),
                version,
                quantity,
            });
        }
        Ok(CentralEvent::ChangeApplied {
            operation_id: change.operation_id,
            kind: change.kind,
            delta: change.delta,
            expected_version: change.expected_version,
            origin: change.origin,
            occurred_at: change.occurred_at,
            version: version + 1,
            quantity: resulting,
        })
    }
}

impl Aggregate for CentralStock {
    const TYPE: &'static str = "CentralStock";
    type Command = CentralCommand;
    type Event = CentralEvent;
    type Error = CentralError;
    type Services = ();

    async fn handle(
        &mut self,
        command: CentralCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), CentralError> {
        let event = match command {
            CentralCommand::Register { quantity, .. } if quantity < 0 => {
                return Err(CentralError::NegativeInitialQuantity(quantity));
            }
            CentralCommand::Register { .. } if self.is_registered() => return Ok(()),
            CentralCommand::Register {
                store_id,
                sku,
                name,
                quantity,
                at,
            } => CentralEvent::ItemRegistered {
                store_id,
                sku,
                name,
                quantity,
                at,
            },
            CentralCommand::ApplyChange(change) => self.decide(&change)?,
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: CentralEvent) {
        match event {
            CentralEvent::ItemRegistered {
                store_id,
                sku,
                name,
                quantity,
                ..
            } => {
                self.store_id = Some(store_id);
                self.sku = Some(sku);
                self.name = name;
                self.quantity = quantity;
                self.version = 0;
            }
            CentralEvent::ChangeApplied {
                version, quantity, ..
            } => {
                self.version = version;
                self.quantity = quantity;
            }
        }
    }
}
