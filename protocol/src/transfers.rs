//! Transfers between stores on the wire: head office's requests and reads
//! at central, the stores' transfer feed, and the stores' steps.

use chrono::{DateTime, Utc};
use domain::transfer::{TransferId, TransferStatus};
use domain::{ChangeKind, OperationId, Sku, StoreId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::cursor::{After, LogCursor};
use crate::limit::Limit;
use crate::outcome::SyncState;
use crate::version::Units;

/// Head office asks one store to send units of an SKU to another.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"from_store": "STORE-001", "to_store": "STORE-002",
    "sku": "ELEC-LAPTOP-001", "quantity": 5}))]
pub struct TransferRequest {
    /// Makes a retry safe; central mints a UUIDv7 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<TransferId>,
    pub from_store: StoreId,
    /// Another store than `from_store`.
    pub to_store: StoreId,
    pub sku: Sku,
    /// Units to send.
    pub quantity: Units,
}

/// A transfer as central knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TransferView {
    pub transfer_id: TransferId,
    pub from_store: StoreId,
    pub to_store: StoreId,
    pub sku: Sku,
    #[schema(example = 5)]
    pub quantity: i64,
    /// `requested`, `shipped` (in transit), `received` or `cancelled`.
    pub status: TransferStatus,
    /// Units the source store shipped, once it did.
    pub shipped: Option<i64>,
    /// Units the destination received, once it did.
    pub received: Option<i64>,
    /// Shipped minus received: lost (> 0) or extra (< 0) units.
    pub discrepancy: Option<i64>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many steps the transfer has taken; a newer copy has a higher one.
    #[schema(example = 1)]
    pub version: i64,
}

/// Which transfers to list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransferQuery {
    /// Only transfers this store sends or receives.
    pub store_id: Option<StoreId>,
    /// Only transfers in this status.
    pub status: Option<TransferStatus>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<TransferId>,
    #[serde(default)]
    #[param(required = false, inline)]
    pub limit: Limit<500, 100>,
}

/// A page of transfers, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferPage {
    pub items: Vec<TransferView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<TransferId>,
}

/// Where a store's transfer feed resumes.
#[derive(Debug, Clone, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransferFeedQuery {
    /// The store whose transfers to read.
    pub store_id: StoreId,
    /// `cursor` of the previous page: the feed continues after it.
    #[serde(default)]
    #[param(required = false, inline)]
    pub after: After,
    #[serde(default)]
    #[param(required = false, inline)]
    pub limit: Limit<1000, 500>,
}

/// The transfers of one store that moved in a stretch of central's log, each
/// as it stands now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferFeed {
    pub transfers: Vec<TransferView>,
    /// Where this page ends in the log (absent when it read nothing): the
    /// store saves it with the transfers and passes it as `after` next.
    pub cursor: Option<LogCursor>,
    /// Set when the page is full: more may follow right away.
    pub more: bool,
    /// False when older transactions were still running: read again later.
    #[serde(default = "crate::yes")]
    pub complete: bool,
}

/// The worker hands a store its transfers from central's feed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferUpdate {
    pub transfers: Vec<TransferView>,
    /// The feed's `cursor`, saved with the transfers.
    pub checkpoint: LogCursor,
}

/// The destination's count of what arrived.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"received": 5}))]
pub struct ReceiveRequest {
    /// Units that arrived; a difference from what shipped is the
    /// transfer's discrepancy.
    pub received: Units,
}

/// Where a transfer stands at this store: central's status, or the step
/// this store took that central has not confirmed yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocalTransferStatus {
    Requested,
    /// This store shipped; central has not applied the shipment yet.
    Shipping,
    Shipped,
    /// This store received; central has not applied the receipt yet.
    Receiving,
    Received,
    Cancelled,
}

/// A transfer this store sends or receives.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LocalTransfer {
    #[serde(flatten)]
    pub central: TransferView,
    /// Where it stands here (`status` is central's).
    pub local_status: LocalTransferStatus,
}

/// Which of this store's transfers to list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocalTransferQuery {
    /// Only transfers in this status here.
    pub status: Option<LocalTransferStatus>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<TransferId>,
    #[serde(default)]
    #[param(required = false, inline)]
    pub limit: Limit<500, 100>,
}

/// A page of this store's transfers, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LocalTransferPage {
    pub items: Vec<LocalTransfer>,
    pub next_cursor: Option<TransferId>,
}

/// A store's step on a transfer: the change it recorded and where the
/// transfer stands here.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferStepResponse {
    pub transfer_id: TransferId,
    /// The change's id, derived from the transfer's: a repeat is one change.
    pub operation_id: OperationId,
    /// `transfer_out` or `transfer_in`.
    pub kind: ChangeKind,
    #[schema(example = -5)]
    pub delta: i64,
    /// The store's quantity after the change.
    pub quantity: i64,
    pub version: i64,
    /// The change's sync status (`pending` when just recorded).
    pub status: SyncState,
    pub local_status: LocalTransferStatus,
}
