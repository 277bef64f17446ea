//! Reservations (holds for online orders) and low-stock alerts on the wire.

use chrono::{DateTime, Utc};
use domain::reservation::{HoldStatus, ReservationId};
use domain::{Sku, StoreId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::limit::Limit;
use crate::version::{Counted, HoldSeconds, Units};

/// Hold units of a SKU at a store for a customer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"sku": "ELEC-LAPTOP-001", "quantity": 1, "expires_in": 7200}))]
pub struct HoldRequest {
    /// Makes a retry safe; central mints a UUIDv7 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<ReservationId>,
    pub sku: Sku,
    /// Units to hold; at most what is available (quantity minus live holds).
    pub quantity: Units,
    /// Seconds until the hold lets go by itself.
    pub expires_in: HoldSeconds,
}

/// A reservation as central knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReservationView {
    pub reservation_id: ReservationId,
    pub store_id: StoreId,
    pub sku: Sku,
    #[schema(example = 1)]
    pub quantity: i64,
    /// `held`, or how it ended: `fulfilled`, `released`, `expired`, `short`.
    pub status: HoldStatus,
    pub expires_at: DateTime<Utc>,
    pub placed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[schema(example = 1)]
    pub version: i64,
}

/// Which reservations to list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReservationQuery {
    pub store_id: Option<StoreId>,
    pub status: Option<HoldStatus>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<ReservationId>,
    #[serde(default)]
    #[param(required = false, inline)]
    pub limit: Limit<500, 100>,
}

/// A page of reservations, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReservationPage {
    pub items: Vec<ReservationView>,
    pub next_cursor: Option<ReservationId>,
}

/// A hold on one of this store's SKUs, as central last told the store.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LocalReservation {
    pub reservation_id: ReservationId,
    pub sku: Sku,
    pub quantity: i64,
    /// Central's status.
    pub status: HoldStatus,
    pub expires_at: DateTime<Utc>,
    /// Whether this store recorded the pick-up (`fulfilled` once central
    /// applied it).
    pub picked_up: bool,
}

/// The store's pick-up of a hold: the sale it recorded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PickupResponse {
    pub reservation_id: ReservationId,
    /// The sale's id, derived from the reservation's: a repeat is one sale.
    pub operation_id: domain::OperationId,
    /// `sale`.
    pub kind: domain::ChangeKind,
    #[schema(example = -1)]
    pub delta: i64,
    /// The store's quantity after the sale.
    pub quantity: i64,
    pub version: i64,
    /// The sale's sync status (`pending` when just recorded).
    pub status: crate::SyncState,
}

/// A reorder point: at or below `level` available units, the SKU is low.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"level": 5}))]
pub struct ReorderPointRequest {
    pub level: Counted,
}

/// A reorder point and where the SKU stands against it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReorderPointView {
    pub store_id: StoreId,
    pub sku: Sku,
    pub level: i64,
    /// Units at central minus live holds.
    pub available: i64,
    /// Whether the SKU is low now (a `stock.low` went out, no
    /// `stock.restored` yet).
    pub low: bool,
}

/// A SKU that is low now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertView {
    pub store_id: StoreId,
    pub sku: Sku,
    /// Available units when it went low.
    pub available: i64,
    pub level: i64,
    /// When it went low.
    pub since: DateTime<Utc>,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    pub store_id: Option<StoreId>,
}

/// What is low now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertPage {
    pub alerts: Vec<AlertView>,
}
