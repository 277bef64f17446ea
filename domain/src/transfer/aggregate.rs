//! The transfer aggregate: `handle` decides, `apply` only sets state.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use super::{TransferCommand, TransferError, TransferEvent, TransferOrder, TransferStatus};
use crate::values::{OperationId, Sku, StoreId};

/// One transfer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    /// What was asked for; none before the request.
    pub order: Option<TransferOrder>,
    pub status: TransferStatus,
    pub shipped: Option<i64>,
    pub received: Option<i64>,
    pub discrepancy: Option<i64>,
    pub requested_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Transfer {
    fn order(&self) -> Result<&TransferOrder, TransferError> {
        self.order.as_ref().ok_or(TransferError::NotFound)
    }

    fn request(
        &self,
        order: TransferOrder,
        at: DateTime<Utc>,
    ) -> Result<Option<TransferEvent>, TransferError> {
        if let Some(existing) = &self.order {
            return if *existing == order {
                Ok(None) // asked again: nothing new
            } else {
                Err(TransferError::IdReused)
            };
        }
        if order.from_store == order.to_store {
            return Err(TransferError::SameStore);
        }
        if order.quantity <= 0 {
            return Err(TransferError::NonPositiveQuantity(order.quantity));
        }
        Ok(Some(TransferEvent::TransferRequested { order, at }))
    }

    fn expect_status(
        &self,
        wanted: TransferStatus,
        action: &'static str,
    ) -> Result<(), TransferError> {
        if self.status == wanted {
            Ok(())
        } else {
            Err(TransferError::WrongStatus {
                status: self.status,
                action,
            })
        }
    }

    /// 422-like refusal unless the change moves the transfer's SKU.
    fn check_sku(&self, sku: &Sku) -> Result<(), TransferError> {
        let order = self.order()?;
        if order.sku == *sku {
            Ok(())
        } else {
            Err(TransferError::WrongSku {
                expected: order.sku.clone(),
                got: sku.clone(),
            })
        }
    }

    /// Whether `store_id` may ship `shipped` units of `sku` now.
    pub fn check_ship(
        &self,
        store_id: &StoreId,
        sku: &Sku,
        shipped: i64,
    ) -> Result<(), TransferError> {
        self.check_sku(sku)?;
        let order = self.order()?;
        if order.from_store != *store_id {
            return Err(TransferError::WrongStore {
                store_id: store_id.clone(),
                side: "source",
            });
        }
        self.expect_status(TransferStatus::Requested, "shipped")?;
        if shipped != order.quantity {
            return Err(TransferError::WrongQuantity {
                expected: order.quantity,
                got: shipped,
            });
        }
        Ok(())
    }

    /// Whether `store_id` may receive `received` units of `sku` now.
    pub fn check_receive(
        &self,
        store_id: &StoreId,
        sku: &Sku,
        received: i64,
    ) -> Result<(), TransferError> {
        self.check_sku(sku)?;
        let order = self.order()?;
        if order.to_store != *store_id {
            return Err(TransferError::WrongStore {
                store_id: store_id.clone(),
                side: "destination",
            });
        }
        if self.status != TransferStatus::Shipped {
            return Err(TransferError::WrongStatus {
                status: self.status,
                action: "received (it must be shipped first)",
            });
        }
        if received <= 0 {
            return Err(TransferError::NonPositiveQuantity(received));
        }
        Ok(())
    }

    fn ship(
        &self,
        (store_id, sku): (&StoreId, &Sku),
        operation_id: OperationId,
        shipped: i64,
        at: DateTime<Utc>,
    ) -> Result<TransferEvent, TransferError> {
        self.check_ship(store_id, sku, shipped)?;
        Ok(TransferEvent::TransferShipped {
            transfer_id: self.order()?.transfer_id,
            operation_id,
            shipped,
            at,
        })
    }

    fn receive(
        &self,
        (store_id, sku): (&StoreId, &Sku),
        operation_id: OperationId,
        received: i64,
        at: DateTime<Utc>,
    ) -> Result<TransferEvent, TransferError> {
        self.check_receive(store_id, sku, received)?;
        Ok(TransferEvent::TransferReceived {
            transfer_id: self.order()?.transfer_id,
            operation_id,
            received,
            discrepancy: self.shipped.unwrap_or_default() - received,
            at,
        })
    }
}

impl Aggregate for Transfer {
    const TYPE: &'static str = "Transfer";
    type Command = TransferCommand;
    type Event = TransferEvent;
    type Error = TransferError;
    type Services = ();

    async fn handle(
        &mut self,
        command: TransferCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), TransferError> {
        let event = match command {
            TransferCommand::Request { order, at } => self.request(order, at)?,
            TransferCommand::Cancel { at } => {
                let transfer_id = self.order()?.transfer_id;
                self.expect_status(TransferStatus::Requested, "cancelled")?;
                Some(TransferEvent::TransferCancelled { transfer_id, at })
            }
            TransferCommand::Ship {
                store_id,
                sku,
                operation_id,
                shipped,
                at,
            } => Some(self.ship((&store_id, &sku), operation_id, shipped, at)?),
            TransferCommand::Receive {
                store_id,
                sku,
                operation_id,
                received,
                at,
            } => Some(self.receive((&store_id, &sku), operation_id, received, at)?),
        };
        if let Some(event) = event {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: TransferEvent) {
        match event {
            TransferEvent::TransferRequested { order, at } => {
                self.order = Some(order);
                self.status = TransferStatus::Requested;
                self.requested_at = Some(at);
                self.updated_at = Some(at);
            }
            TransferEvent::TransferCancelled { at, .. } => {
                self.status = TransferStatus::Cancelled;
                self.updated_at = Some(at);
            }
            TransferEvent::TransferShipped { shipped, at, .. } => {
                self.status = TransferStatus::Shipped;
                self.shipped = Some(shipped);
                self.updated_at = Some(at);
            }
            TransferEvent::TransferReceived {
                received,
                discrepancy,
                at,
                ..
            } => {
                self.status = TransferStatus::Received;
                self.received = Some(received);
                self.discrepancy = Some(discrepancy);
                self.updated_at = Some(at);
            }
        }
    }
}
