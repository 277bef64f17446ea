//! Head office's API: pushing store changes, head-office changes, stock
//! queries, the event log and tokens.

use chrono::{DateTime, Utc};
use domain::central::{Origin, Outcome};
use domain::reservation::{HoldStatus, ReservationId};
use domain::transfer::TransferId;
use domain::{ChangeKind, Delta, OperationId, Sku, StoreId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::cursor::{After, LogCursor};
use crate::limit::Limit;
use crate::text::{Reason, StoreClient};
use crate::timestamp::Timestamp;
use crate::version::StreamVersion;

/// The largest batch accepted in one push.
pub const MAX_BATCH: usize = 1000;

/// A batch of one store's changes, in the store's log order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"store_id": "STORE-001", "changes": [{
    "operation_id": "0192f1d6-7c1a-7cc0-9a51-3c1fe4a7a001", "sku": "ELEC-LAPTOP-001",
    "delta": -2, "expected_version": 3, "occurred_at": "2026-11-25T12:00:00Z"}]}))]
pub struct BatchRequest {
    pub store_id: StoreId,
    /// At most [`MAX_BATCH`] changes.
    #[schema(max_items = 1000)]
    pub changes: Vec<BatchChange>,
}

/// One change in a batch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchChange {
    pub operation_id: OperationId,
    pub sku: Sku,
    /// What kind of movement (`adjustment` when absent).
    #[serde(default)]
    pub kind: ChangeKind,
    pub delta: Delta,
    /// Compare-and-set: apply only at exactly this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<StreamVersion>,
    /// When the change happened at the store; defaults to now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<Timestamp>,
    /// The store client (till or staff) whose token made the change; kept
    /// in central's event metadata as `store_client`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_client: Option<StoreClient>,
    /// The transfer a `transfer_out` ships or a `transfer_in` receives:
    /// central applies the change only if the transfer allows the step
    /// (else `transfer_refused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<TransferId>,
    /// The reservation a `sale` picks up: central applies the sale (it
    /// happened) and marks the hold `fulfilled` if it is still held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<ReservationId>,
}

/// One store change to the SKU in the path.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"operation_id": "0192f1d6-7c1a-7cc0-9a51-3c1fe4a7a001",
    "delta": -2, "occurred_at": "2026-11-25T12:00:00Z"}))]
pub struct SingleChange {
    pub operation_id: OperationId,
    /// What kind of movement (`adjustment` when absent).
    #[serde(default)]
    pub kind: ChangeKind,
    pub delta: Delta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<StreamVersion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<Timestamp>,
    /// The store client whose token made the change (`store_client` in
    /// central's event metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_client: Option<StoreClient>,
}

impl SingleChange {
    /// The same change as a batch holds it, for the SKU in the path.
    pub fn for_sku(self, sku: Sku) -> BatchChange {
        BatchChange {
            operation_id: self.operation_id,
            sku,
            kind: self.kind,
            delta: self.delta,
            expected_version: self.expected_version,
            occurred_at: self.occurred_at,
            store_client: self.store_client,
            transfer_id: None,
            reservation_id: None,
        }
    }
}

/// A head-office change to a store's stock (a count correction, an online
/// order). It reaches the store through the worker.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"delta": -1, "reason": "shelf count"}))]
pub struct AdjustRequest {
    pub delta: Delta,
    /// Compare-and-set: apply only at exactly this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<StreamVersion>,
    /// Makes a retry safe; a UUIDv7 is minted when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<OperationId>,
    /// Why, for the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// Central's answer to one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChangeResult {
    pub operation_id: OperationId,
    pub outcome: Outcome,
    /// Version after the change if applied, else central's current version;
    /// null when the SKU is unknown.
    pub version: Option<i64>,
    /// Quantity that goes with `version`.
    pub quantity: Option<i64>,
    /// True when this repeats the answer to an earlier push of the operation.
    #[serde(default)]
    pub replayed: bool,
}

/// One result per change, in request order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchResponse {
    pub results: Vec<ChangeResult>,
}

/// The body of a refused single change: the error code and message, plus
/// central's current figures at top level and in `details`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefusalBody {
    pub code: Outcome,
    pub message: String,
    pub version: Option<i64>,
    pub quantity: Option<i64>,
    pub details: Value,
}

/// A store's SKU as head office sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StoreItem {
    pub store_id: StoreId,
    pub sku: Sku,
    #[schema(example = "ThinkPad X1 Carbon")]
    pub name: String,
    pub quantity: i64,
    pub version: i64,
    /// Units held for reservations.
    pub reserved: i64,
    /// What may still be promised: `quantity - reserved`.
    pub available: i64,
}

/// One store's share of a SKU's availability.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StoreAvailability {
    pub store_id: StoreId,
    pub quantity: i64,
    pub version: i64,
}

/// Chain-wide availability of a SKU. A `store` token sees its own store
/// only (its entry alone, and a total of its own quantity).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Availability {
    pub sku: Sku,
    #[schema(example = "ThinkPad X1 Carbon")]
    pub name: String,
    pub total_quantity: i64,
    /// Units shipped from one store to another and not yet received:
    /// counted in no store's quantity.
    pub in_transit: i64,
    pub stores: Vec<StoreAvailability>,
}

/// Which movements of an SKU to total: one store's or the chain's, over a
/// window of when the changes happened (`from` inclusive, `to` exclusive).
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MovementsQuery {
    /// Only this store's movements (required with a store token).
    pub store_id: Option<StoreId>,
    /// From this time on (when the change happened at its store).
    #[param(inline)]
    pub from: Option<Timestamp>,
    /// Before this time.
    #[param(inline)]
    pub to: Option<Timestamp>,
}

/// The changes of one kind in a movement report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KindTotal {
    pub kind: ChangeKind,
    /// The sum of their deltas (negative for sales and damage).
    pub units: i64,
    /// How many changes.
    pub changes: i64,
}

/// An SKU's movements by kind over a window, from central's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"sku": "ELEC-LAPTOP-001", "store_id": "STORE-001",
    "movements": [{"kind": "sale", "units": -12, "changes": 9}, {"kind": "receipt", "units": 20, "changes": 1}],
    "net_units": 8}))]
pub struct MovementReport {
    pub sku: Sku,
    /// The store, or `null` for the whole chain.
    pub store_id: Option<StoreId>,
    /// One entry per kind that moved in the window, in kind order.
    pub movements: Vec<KindTotal>,
    /// The sum of every movement.
    pub net_units: i64,
}

/// Which page of central's log to read.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    #[serde(default)]
    #[param(required = false, inline)]
    pub after: After,
    #[serde(default)]
    #[param(required = false, inline)]
    pub limit: Limit<1000, 100>,
    /// Only this store's events (required with a store token).
    pub store_id: Option<StoreId>,
    /// Only this SKU's events.
    pub sku: Option<Sku>,
}

/// A change recorded in central's log, as the sync worker reads it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoggedChange {
    pub operation_id: OperationId,
    pub delta: Delta,
    pub origin: Origin,
    /// Central's version after the change.
    pub version: i64,
    /// Central's quantity after the change.
    pub quantity: i64,
}

/// A hold on one of the store's SKUs as it stands now, set on each of the
/// hold's events in central's log: how a store learns of its holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoggedHold {
    pub reservation_id: ReservationId,
    pub sku: Sku,
    pub quantity: i64,
    pub status: HoldStatus,
    pub expires_at: DateTime<Utc>,
    /// The hold's step count: a newer copy has a higher one.
    pub version: i64,
}

/// One event of central's log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// Insertion number; unique, but commit order is given by `cursor`.
    pub position: i64,
    /// Pass as `after` to continue after this event.
    pub cursor: LogCursor,
    pub store_id: String,
    pub sku: String,
    /// The event's number in its (store, SKU) stream.
    pub sequence: i64,
    #[schema(example = "ChangeApplied")]
    pub event_type: String,
    /// Set for a `ChangeApplied` event: the change and central's figures
    /// after it. This is what clients read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<LoggedChange>,
    /// Set for a hold's event (`HoldPlaced`, `HoldReleased`, …): the hold as
    /// it stands now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<LoggedHold>,
    /// The event as stored, for people; its shape may change.
    pub payload: Value,
    /// Extra facts such as a head-office change's `reason`.
    pub metadata: Value,
    pub recorded_at: DateTime<Utc>,
}

/// A page of central's log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventsPage {
    pub events: Vec<EventView>,
    /// Set when the page is full: pass it as `after` for the next page.
    pub next_cursor: Option<LogCursor>,
    /// False when older transactions were still running after 2 s and the
    /// read settled for what was visible: changes committed before the
    /// request may be missing here (they follow, nothing is skipped), so
    /// read again later.
    #[serde(default = "crate::yes")]
    pub complete: bool,
}

/// The token request of the OAuth2 client-credentials grant (form or JSON
/// body; the id and secret may come as HTTP Basic instead). No `Debug`:
/// it holds a secret.
#[derive(Default, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Must be `client_credentials` (missing: `invalid_request`, another
    /// grant: `unsupported_grant_type`).
    #[schema(value_type = GrantType, required = true)]
    pub grant_type: Option<String>,
    /// Required unless the client authenticates with HTTP Basic.
    #[schema(value_type = String, required = true, example = "dev-worker")]
    pub client_id: Option<String>,
    /// Required unless the client authenticates with HTTP Basic.
    #[schema(value_type = String, required = true, example = "dev-only-worker-secret")]
    pub client_secret: Option<String>,
}

/// The one grant type the token endpoint serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    ClientCredentials,
}

/// A successful token response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
}

/// A refused token request (RFC 6749 §5.2), with `code` and `message` as in
/// every other error.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OAuthErrorBody {
    #[schema(example = "invalid_client")]
    pub error: String,
    pub error_description: String,
    #[schema(example = "invalid_client")]
    pub code: String,
    pub message: String,
}

/// The body of a 422 to a single change: an `insufficient_stock` refusal
/// with central's figures, or a `validation_failed` error body.
#[derive(Debug)]
pub struct RefusalOrError;

impl utoipa::PartialSchema for RefusalOrError {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        use utoipa::openapi::Ref;
        utoipa::openapi::schema::AnyOfBuilder::new()
            .item(Ref::from_schema_name("RefusalBody"))
            .item(Ref::from_schema_name("ErrorBody"))
            .into()
    }
}

impl ToSchema for RefusalOrError {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)>) {
        use utoipa::PartialSchema;
        schemas.push(("RefusalBody".into(), RefusalBody::schema()));
        schemas.push(("ErrorBody".into(), crate::ErrorBody::schema()));
        <RefusalBody as ToSchema>::schemas(schemas);
    }
}

/// Every answer to one change (`/changes` and `/adjust`): 200 with the
/// result, or a refusal with central's figures (404, 409, 422), besides the
/// body and token errors listed beside it.
#[derive(Debug)]
pub struct ChangeAnswers;

impl utoipa::IntoResponses for ChangeAnswers {
    fn responses()
    -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let answer = |description: &str, schema: &str| {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build();
            ResponseBuilder::new()
                .description(description)
                .content("application/json", content)
                .build()
                .into()
        };
        [
            ("200", answer("Applied, or a replay of an applied change", "ChangeResult")),
            ("404", answer("`sku_not_found`, with central's figures", "RefusalBody")),
            (
                "409",
                answer(
                    "`version_conflict`, `version_ahead` or `operation_id_reused`, with central's figures",
                    "RefusalBody",
                ),
            ),
            (
                "422",
                answer(
                    "`insufficient_stock` (a refusal with central's figures) or `validation_failed` (an error body)",
                    "RefusalOrError",
                ),
            ),
        ]
        .into_iter()
        .map(|(status, response)| (status.to_owned(), response))
        .collect()
    }
}
