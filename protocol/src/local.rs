//! The store's own API (`/v1/local/...`): what tills and staff send and get.

use chrono::{DateTime, Utc};
use domain::store::RejectionReason;
use domain::{ChangeKind, Delta, OperationId, Sku, StoreId};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::cursor::{After, LogCursor};
use crate::limit::Limit;
use crate::outcome::SyncState;
use crate::text::Reason;
use crate::version::{Counted, StreamVersion};

/// A kind a plain stock update may have: any [`ChangeKind`] but counts and
/// transfers, which have their own operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "ChangeKind", into = "ChangeKind")]
pub struct UpdateKind(ChangeKind);

impl TryFrom<ChangeKind> for UpdateKind {
    type Error = String;

    fn try_from(kind: ChangeKind) -> Result<Self, Self::Error> {
        if kind.is_plain() {
            Ok(Self(kind))
        } else {
            Err(format!("a {kind} has its own operation, not an update"))
        }
    }
}

impl From<UpdateKind> for ChangeKind {
    fn from(kind: UpdateKind) -> Self {
        kind.0
    }
}

impl PartialSchema for UpdateKind {
    fn schema() -> RefOr<Schema> {
        let plain = ChangeKind::ALL.into_iter().filter(|kind| kind.is_plain());
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(plain.map(ChangeKind::as_str)))
            .default(Some(serde_json::json!(ChangeKind::default().as_str())))
            .into()
    }
}

impl ToSchema for UpdateKind {}

/// A stock change: `delta` > 0 adds stock, < 0 removes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"kind": "sale", "delta": -2, "reason": "till 3"}))]
pub struct UpdateRequest {
    /// `sale` and `damage` take a negative delta, `receipt` and `return` a
    /// positive one, `adjustment` (the default) either; counts and transfers
    /// have their own operations.
    #[serde(default)]
    pub kind: UpdateKind,
    pub delta: Delta,
    /// Compare-and-set: the version the client last saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<StreamVersion>,
    /// Makes a retry safe; the store mints a UUIDv7 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<OperationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// The accepted change and the figures right after it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UpdateResponse {
    pub operation_id: OperationId,
    pub sku: Sku,
    pub kind: ChangeKind,
    pub delta: Delta,
    /// What the store may sell now, this change included.
    #[schema(example = 48)]
    pub quantity: i64,
    /// The stream's version once central has applied this change.
    #[schema(example = 1)]
    pub version: i64,
    /// `pending` when the change was accepted.
    pub status: SyncState,
}

/// A physical count: what the shelf holds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"counted": 7, "reason": "weekly count, aisle 4"}))]
pub struct CountRequest {
    /// Units on the shelf. The store records the difference from its
    /// quantity as a change of kind `count` (at most ±1,000,000 units).
    pub counted: Counted,
    /// Compare-and-set: the version the client last saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<StreamVersion>,
    /// Makes a retry safe; the store mints a UUIDv7 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<OperationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// What became of a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CountStatus {
    /// The count differed: its change waits to be sent to central.
    Pending,
    /// The count matched the store's quantity: recorded, nothing to sync.
    Recorded,
}

/// A recorded count and the figures right after it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CountResponse {
    pub operation_id: OperationId,
    pub sku: Sku,
    /// Always `count`.
    pub kind: ChangeKind,
    #[schema(example = 7)]
    pub counted: i64,
    /// `counted` minus the quantity before the count; 0 when it matched.
    #[schema(example = -2)]
    pub delta: i64,
    /// The store's quantity now: `counted`.
    #[schema(example = 7)]
    pub quantity: i64,
    /// The stream's version once central has applied the count's change.
    #[schema(example = 4)]
    pub version: i64,
    pub status: CountStatus,
}

/// One SKU's stock at this store.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StockView {
    pub sku: Sku,
    #[schema(example = "ThinkPad X1 Carbon")]
    pub name: String,
    /// What the store may sell now: confirmed plus pending.
    pub quantity: i64,
    /// What central has accepted.
    pub confirmed_quantity: i64,
    pub confirmed_version: i64,
    /// The version central will have once pending changes are applied.
    pub version: i64,
    pub pending_changes: i32,
    pub last_synced_at: Option<DateTime<Utc>>,
    /// When the SKU was last physically counted here.
    pub last_counted_at: Option<DateTime<Utc>>,
    /// Units held for online orders (live holds not picked up yet).
    pub reserved: i64,
    /// What a sale may take: `quantity - reserved`.
    pub available: i64,
}

/// A page of SKUs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StockPage {
    pub items: Vec<StockView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<Sku>,
}

/// Paging of the stock list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockPageQuery {
    /// `next_cursor` of the previous page (the last SKU it listed).
    pub cursor: Option<Sku>,
    #[serde(default)]
    #[param(required = false, inline)]
    pub limit: Limit<500, 100>,
}

/// The latest local change of a SKU.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LatestOperation {
    pub operation_id: OperationId,
}

/// Where a change stands with central.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SyncStatus {
    pub operation_id: OperationId,
    pub sku: Sku,
    pub delta: Delta,
    pub status: SyncState,
    /// True once central applied the change (`synced`), as in the prototype.
    pub ok: bool,
    /// Where the change stands, in words.
    #[schema(example = "applied at central")]
    pub message: String,
    /// Failed attempts so far.
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Central's version after the change (synced) or when it refused it.
    pub central_version: Option<i64>,
    /// Why it was rejected.
    pub reason: Option<RejectionReason>,
    /// The rejected change this one depended on.
    pub because_of: Option<OperationId>,
}

/// Which changes the conflict inbox lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InboxStatus {
    /// Refused by central for good (`version_conflict`,
    /// `insufficient_stock`, or a refused change it depended on).
    #[default]
    Rejected,
    /// Still pending after a failed attempt to reach central.
    Retrying,
    /// Set aside: central refuses any batch holding it; an operator
    /// retries it after a fix.
    Quarantined,
}

/// A page of the conflict inbox.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// `rejected` (default), `retrying` or `quarantined`.
    #[serde(default)]
    #[param(required = false, inline)]
    pub status: InboxStatus,
    /// `next_cursor` of the previous page.
    pub cursor: Option<u64>,
    #[serde(default)]
    #[param(required = false, inline)]
    pub limit: Limit<500, 100>,
}

/// A change in the conflict inbox: its sync status, the figures central
/// had when it refused it, and what became of it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InboxChange {
    #[serde(flatten)]
    pub sync: SyncStatus,
    /// When the change was made at the store.
    pub occurred_at: DateTime<Utc>,
    /// The version the change expected, if it was compare-and-set.
    pub expected_version: Option<i64>,
    /// Central's quantity when it refused the change.
    pub central_quantity: Option<i64>,
    /// The change that reapplied this one, once a person did.
    pub reapplied_as: Option<OperationId>,
}

/// Changes that need a person, in log order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InboxPage {
    pub changes: Vec<InboxChange>,
    /// Set when the page is full: pass it as `cursor` for the next page.
    pub next_cursor: Option<u64>,
}

/// An accepted sync trigger.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TriggerResponse {
    pub store_id: StoreId,
    #[schema(example = "sync requested")]
    pub status: String,
}

/// Which events of the store's log to read.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    #[serde(default)]
    #[param(required = false, inline)]
    pub after: After,
    #[serde(default)]
    #[param(required = false, inline)]
    pub limit: Limit<1000, 100>,
    /// Only this SKU's stream.
    pub sku: Option<Sku>,
}

/// One event of the store's log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// Insertion number; the order is given by `cursor`.
    pub position: i64,
    /// Pass as `after` to continue after this event.
    pub cursor: LogCursor,
    pub sku: String,
    /// The event's number in its SKU's stream.
    pub sequence: i64,
    #[schema(example = "StockAdjusted")]
    pub event_type: String,
    /// The event as stored (`{"StockAdjusted": {...}}`), for people.
    pub payload: serde_json::Value,
    pub recorded_at: DateTime<Utc>,
}

/// A page of the store's log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<EventView>,
    /// Set when the page is full: more events may follow now.
    pub next_cursor: Option<LogCursor>,
    /// False when older transactions were still running after 2 s and the
    /// read settled for what was visible: changes committed before the
    /// request may be missing here (they follow, nothing is skipped), so
    /// read again later.
    #[serde(default = "crate::yes")]
    pub complete: bool,
}
