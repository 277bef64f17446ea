//! The store's API for the sync worker (`/v1/sync/...`, role
//! `sync-worker`). Every write is idempotent: the worker may repeat any
//! call after a crash or a broker redelivery.

use chrono::{DateTime, Utc};
use domain::reservation::ReservationId;
use domain::transfer::TransferId;
use domain::{ChangeKind, Delta, OperationId, Sku, StoreId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::cursor::LogCursor;
use crate::limit::Limit;
use crate::outcome::FinalOutcome;
use crate::text::{FailureText, StoreClient};
use crate::timestamp::Timestamp;
use crate::version::{Quantity, StreamVersion};

/// How many pending changes to return.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PendingQuery {
    #[serde(default)]
    #[param(required = false, inline)]
    pub limit: Limit<5000, 500>,
}

/// A change waiting for central, as the worker pushes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PendingChange {
    pub operation_id: OperationId,
    pub sku: Sku,
    /// What kind of movement (`adjustment` when absent).
    #[serde(default)]
    pub kind: ChangeKind,
    pub delta: Delta,
    /// Compare-and-set: the version central must be at.
    pub expected_version: Option<StreamVersion>,
    pub occurred_at: DateTime<Utc>,
    /// The store client (till or staff) whose token made the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<StoreClient>,
    /// The transfer a `transfer_out` ships or a `transfer_in` receives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<TransferId>,
    /// The reservation a sale picks up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<ReservationId>,
    /// Failed attempts so far.
    #[serde(default)]
    pub attempts: i32,
}

/// The oldest pending changes, in log order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PendingPage {
    pub store_id: StoreId,
    pub changes: Vec<PendingChange>,
}

/// Central's final answer to one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutcomeReport {
    pub operation_id: OperationId,
    pub sku: Sku,
    pub outcome: FinalOutcome,
    /// Central's version after the decision.
    pub version: StreamVersion,
    /// Central's quantity that goes with `version`.
    pub quantity: Quantity,
}

/// A batch of final answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutcomesRequest {
    pub outcomes: Vec<OutcomeReport>,
}

/// How many events (or rows) a call recorded; 0 for a repeat.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct Recorded {
    pub recorded: u64,
}

/// A transient failure to sync some changes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FailureReport {
    pub operation_ids: Vec<OperationId>,
    pub error: FailureText,
    pub next_attempt_at: Option<Timestamp>,
}

/// A change the worker sets aside: central refuses any batch holding it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuarantineReport {
    pub operation_id: OperationId,
    /// Central's answer to the batch that held the change alone.
    pub error: FailureText,
}

/// Where the store stands in central's log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Checkpoint {
    /// Absent until the store applied central's first page.
    pub cursor: Option<LogCursor>,
    /// Where the store's copy of its transfers stands in central's
    /// transfer feed; absent until the first page.
    #[serde(default)]
    pub transfers: Option<LogCursor>,
}

/// A change central made to one of this store's SKUs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CentralChange {
    pub operation_id: OperationId,
    pub sku: Sku,
    pub delta: Delta,
    /// Central's version after the change.
    pub version: StreamVersion,
    /// Central's quantity after the change.
    pub quantity: Quantity,
}

/// Changes read from central's log, and the cursor after the last of them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CentralChangesRequest {
    pub changes: Vec<CentralChange>,
    /// Central's word on the store's holds in the same stretch of the log.
    #[serde(default)]
    pub holds: Vec<CentralHold>,
    pub checkpoint: LogCursor,
}

/// A hold on one of the store's SKUs, as central's log says it stands.
pub use crate::central::LoggedHold as CentralHold;
