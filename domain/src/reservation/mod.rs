//! Holds for online orders at a store, decided at central: head office
//! holds units for a customer; the hold ends when the store records the
//! pick-up (`fulfilled`), head office lets it go (`released`), its time runs
//! out (`expired`), or the store sold the units before it heard of the hold
//! (`short`, for a person to resolve). Nothing leaves a final state.
//! Modelled on pending transfers (reserve, then post or void, with a
//! timeout): a hold never leaks, because every hold has a deadline.

mod aggregate;
mod alert;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::{OperationId, Sku, StoreId, ValueError};

pub use aggregate::Hold;
pub use alert::{Crossing, alert_due};

/// Identifies one reservation across the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReservationId(Uuid);

impl ReservationId {
    /// A fresh time-ordered id.
    pub fn new_v7() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// The operation id of the store's pick-up (the sale of the held
    /// units): derived (UUIDv5), so recording it twice is one sale.
    pub fn pickup(&self) -> OperationId {
        OperationId::from(Uuid::new_v5(&PICKUP_NAMESPACE, self.0.as_bytes()))
    }
}

/// The UUIDv5 namespace of [`ReservationId::pickup`].
const PICKUP_NAMESPACE: Uuid = Uuid::from_u128(0x8b3e_5d21_c4f0_4a97_b6e2_19d7_0c53_aa41);

impl From<Uuid> for ReservationId {
    fn from(value: Uuid) -> Self {
        Self(value)
    }
}

impl FromStr for ReservationId {
    type Err = ValueError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(value)
            .map(Self)
            .map_err(|_| ValueError::ReservationId(value.to_owned()))
    }
}

impl fmt::Display for ReservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a hold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HoldStatus {
    /// Units held for the customer; counted out of `available`.
    #[default]
    Held,
    /// Picked up: the store's sale of the held units is applied. Final.
    Fulfilled,
    /// Let go by head office. Final.
    Released,
    /// Its time ran out. Final.
    Expired,
    /// The store sold the units before it heard of the hold. Final; a
    /// person resolves it.
    Short,
}

impl HoldStatus {
    /// Every status, in the order above.
    pub const ALL: [HoldStatus; 5] = [
        Self::Held,
        Self::Fulfilled,
        Self::Released,
        Self::Expired,
        Self::Short,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Fulfilled => "fulfilled",
            Self::Released => "released",
            Self::Expired => "expired",
            Self::Short => "short",
        }
    }
}

impl fmt::Display for HoldStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HoldStatus {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| ValueError::HoldStatus(text.to_owned()))
    }
}

/// What head office asked to hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldOrder {
    pub reservation_id: ReservationId,
    pub store_id: StoreId,
    pub sku: Sku,
    /// Units held, > 0.
    pub quantity: i64,
    /// When the hold lets go by itself.
    pub expires_at: DateTime<Utc>,
}

impl HoldOrder {
    /// Whether `other` asks for the same hold (a retry computes its own
    /// deadline, so the deadline does not count).
    pub fn same_request(&self, other: &HoldOrder) -> bool {
        (
            &self.reservation_id,
            &self.store_id,
            &self.sku,
            self.quantity,
        ) == (
            &other.reservation_id,
            &other.store_id,
            &other.sku,
            other.quantity,
        )
    }
}

/// What can be asked of a hold.
#[derive(Debug, Clone, PartialEq)]
pub enum HoldCommand {
    /// Hold units; `available` is the store's quantity at central minus its
    /// other live holds, read under the stock stream's lock. Asking again
    /// for the same hold does nothing.
    Place {
        order: HoldOrder,
        available: i64,
        at: DateTime<Utc>,
    },
    /// Head office lets the hold go.
    Release { at: DateTime<Utc> },
    /// The deadline passed (`now` ≥ `expires_at`).
    Expire { now: DateTime<Utc> },
    /// The store's sale of the held units (the pick-up) is applied.
    Fulfil {
        operation_id: OperationId,
        at: DateTime<Utc>,
    },
    /// The store's stock at central fell below what is held.
    MarkShort { at: DateTime<Utc> },
}

/// What happened to a hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum HoldEvent {
    HoldPlaced {
        #[serde(flatten)]
        order: HoldOrder,
        at: DateTime<Utc>,
    },
    HoldReleased {
        reservation_id: ReservationId,
        at: DateTime<Utc>,
    },
    HoldExpired {
        reservation_id: ReservationId,
        at: DateTime<Utc>,
    },
    HoldFulfilled {
        reservation_id: ReservationId,
        operation_id: OperationId,
        at: DateTime<Utc>,
    },
    HoldShort {
        reservation_id: ReservationId,
        at: DateTime<Utc>,
    },
}

impl HoldEvent {
    /// The event's name in the log.
    pub fn name(&self) -> &'static str {
        match self {
            Self::HoldPlaced { .. } => "HoldPlaced",
            Self::HoldReleased { .. } => "HoldReleased",
            Self::HoldExpired { .. } => "HoldExpired",
            Self::HoldFulfilled { .. } => "HoldFulfilled",
            Self::HoldShort { .. } => "HoldShort",
        }
    }
}

impl DomainEvent for HoldEvent {
    fn event_type(&self) -> String {
        self.name().to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// Why a hold command was refused. Nothing is appended when it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldError {
    #[error("a hold takes at least one unit, got {0}")]
    NonPositiveQuantity(i64),
    #[error("only {available} available, the hold needs {requested}")]
    InsufficientAvailable { available: i64, requested: i64 },
    #[error("reservation id already used for a different hold")]
    IdReused,
    #[error("no such reservation")]
    NotFound,
    #[error("the reservation is {status}: only a held reservation can be {action}")]
    NotHeld {
        status: HoldStatus,
        action: &'static str,
    },
    #[error("the hold runs until {expires_at}")]
    NotDue { expires_at: DateTime<Utc> },
}
