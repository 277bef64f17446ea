//! The hold aggregate: `handle` decides, `apply` only sets state.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use super::{HoldCommand, HoldError, HoldEvent, HoldOrder, HoldStatus, ReservationId};

/// One reservation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    /// What was held; none before it was placed.
    pub order: Option<HoldOrder>,
    pub status: HoldStatus,
    pub placed_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Hold {
    fn id(&self) -> Result<ReservationId, HoldError> {
        self.order
            .as_ref()
            .map(|order| order.reservation_id)
            .ok_or(HoldError::NotFound)
    }

    /// The id of a held reservation, or why it cannot be `action`.
    fn held(&self, action: &'static str) -> Result<ReservationId, HoldError> {
        let id = self.id()?;
        if self.status == HoldStatus::Held {
            Ok(id)
        } else {
            Err(HoldError::NotHeld {
                status: self.status,
                action,
            })
        }
    }

    fn place(
        &self,
        order: HoldOrder,
        available: i64,
        at: DateTime<Utc>,
    ) -> Result<Option<HoldEvent>, HoldError> {
        if let Some(existing) = &self.order {
            return if existing.same_request(&order) {
                Ok(None)
            } else {
                Err(HoldError::IdReused)
            };
        }
        if order.quantity <= 0 {
            return Err(HoldError::NonPositiveQuantity(order.quantity));
        }
        if order.quantity > available {
            return Err(HoldError::InsufficientAvailable {
                available,
                requested: order.quantity,
            });
        }
        Ok(Some(HoldEvent::HoldPlaced { order, at }))
    }

    fn expire(&self, now: DateTime<Utc>) -> Result<HoldEvent, HoldError> {
        let reservation_id = self.held("expired")?;
        let expires_at = self.order.as_ref().map_or(now, |order| order.expires_at);
        if now < expires_at {
            return Err(HoldError::NotDue { expires_at });
        }
        Ok(HoldEvent::HoldExpired {
            reservation_id,
            at: now,
        })
    }
}

impl Aggregate for Hold {
    const TYPE: &'static str = "Hold";
    type Command = HoldCommand;
    type Event = HoldEvent;
    type Error = HoldError;
    type Services = ();

    async fn handle(
        &mut self,
        command: HoldCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), HoldError> {
        let event = match command {
            HoldCommand::Place {
                order,
                available,
                at,
            } => self.place(order, available, at)?,
            HoldCommand::Release { at } => Some(HoldEvent::HoldReleased {
                reservation_id: self.held("released")?,
                at,
            }),
            HoldCommand::Expire { now } => Some(self.expire(now)?),
            HoldCommand::Fulfil { operation_id, at } => Some(HoldEvent::HoldFulfilled {
                reservation_id: self.held("fulfilled")?,
                operation_id,
                at,
            }),
            HoldCommand::MarkShort { at } => Some(HoldEvent::HoldShort {
                reservation_id: self.held("marked short")?,
                at,
            }),
        };
        if let Some(event) = event {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: HoldEvent) {
        let (status, at) = match event {
            HoldEvent::HoldPlaced { order, at } => {
                self.order = Some(order);
                self.placed_at = Some(at);
                (HoldStatus::Held, at)
            }
            HoldEvent::HoldReleased { at, .. } => (HoldStatus::Released, at),
            HoldEvent::HoldExpired { at, .. } => (HoldStatus::Expired, at),
            HoldEvent::HoldFulfilled { at, .. } => (HoldStatus::Fulfilled, at),
            HoldEvent::HoldShort { at, .. } => (HoldStatus::Short, at),
        };
        self.status = status;
        self.updated_at = Some(at);
    }
}
