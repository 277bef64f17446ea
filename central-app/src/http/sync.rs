//! The sync API the worker (or a store) pushes store changes to: a batch,
//! or one change. Every change is decided on its own, in order.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::central::Origin;
use domain::{Delta, OperationId, Sku, StoreId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use service_infra::auth::{Bearer, Role};
use service_infra::{ApiError, ErrorBody, Json, Path};
use utoipa::ToSchema;

use super::{
    ChangeResult, RefusalBody, StoreSkuPath, authorize, change_response, ledger_error,
    parse_expected,
};
use crate::app::AppState;
use crate::ledger::Change;

/// The largest batch accepted in one request.
pub const MAX_BATCH: usize = 1000;

const PUSHERS: &[Role] = &[Role::SyncWorker, Role::Store];

/// A batch of one store's changes, in the store's log order.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchRequest {
    #[schema(value_type = String, example = "STORE-001")]
    pub store_id: StoreId,
    /// At most 1000 changes.
    pub changes: Vec<BatchChange>,
}

/// One change in a batch.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchChange {
    #[schema(value_type = String, format = Uuid)]
    pub operation_id: OperationId,
    #[schema(value_type = String, example = "ELEC-LAPTOP-001")]
    pub sku: Sku,
    /// Non-zero, |delta| <= 1,000,000.
    #[schema(value_type = i64, example = -2)]
    pub delta: Delta,
    /// Compare-and-set: apply only at exactly this version.
    #[serde(default)]
    pub expected_version: Option<i64>,
    /// When the change happened at the store; defaults to now.
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
}

/// One change to the SKU in the path.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SingleChange {
    #[schema(value_type = String, format = Uuid)]
    pub operation_id: OperationId,
    #[schema(value_type = i64, example = -2)]
    pub delta: Delta,
    #[serde(default)]
    pub expected_version: Option<i64>,
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
}

/// One result per change, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    pub results: Vec<ChangeResult>,
}

/// Push a batch of store changes.
#[utoipa::path(
    post, path = "/v1/sync/batch", tag = "sync",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "Each change decided on its own", body = BatchResponse),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Role or store not allowed", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(name = "push_batch", skip_all, fields(store_id = %request.store_id, changes = request.changes.len()))]
pub async fn push_batch(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Json(request): Json<BatchRequest>,
) -> Result<Json<BatchResponse>, ApiError> {
    authorize(&claims, PUSHERS, &request.store_id)?;
    if request.changes.len() > MAX_BATCH {
        return Err(ApiError::validation(
            format!("a batch holds at most {MAX_BATCH} changes"),
            json!({ "field": "changes", "reason": format!("{} changes", request.changes.len()) }),
        ));
    }
    let now = Utc::now();
    let changes = request
        .changes
        .into_iter()
        .enumerate()
        .map(|(index, change)| {
            Ok(Change {
                operation_id: change.operation_id,
                sku: change.sku,
                delta: change.delta,
                expected_version: parse_expected(
                    &format!("changes[{index}].expected_version"),
                    change.expected_version,
                )?,
                occurred_at: change.occurred_at.unwrap_or(now),
                origin: Origin::Store,
                reason: None,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let decisions = state
        .ledger
        .apply_batch(&request.store_id, &changes)
        .await
        .map_err(ledger_error)?;
    state.metrics.observe_batch(changes.len());
    state.metrics.record_decisions(&decisions);
    Ok(Json(BatchResponse {
        results: decisions.iter().map(ChangeResult::from).collect(),
    }))
}

/// Push one store change.
#[utoipa::path(
    post, path = "/v1/stores/{store_id}/inventory/{sku}/changes", tag = "sync",
    params(("store_id" = String, Path, example = "STORE-001"), ("sku" = String, Path, example = "ELEC-LAPTOP-001")),
    request_body = SingleChange,
    responses(
        (status = 200, description = "Applied, or a replay of an applied change", body = ChangeResult),
        (status = 404, description = "sku_not_found", body = RefusalBody),
        (status = 409, description = "version_conflict, version_ahead or operation_id_reused", body = RefusalBody),
        (status = 422, description = "insufficient_stock or invalid input", body = RefusalBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Role or store not allowed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(name = "push_change", skip_all, fields(store_id = %path.store_id, sku = %path.sku, operation_id = %body.operation_id))]
pub async fn push_change(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(path): Path<StoreSkuPath>,
    Json(body): Json<SingleChange>,
) -> Result<Response, ApiError> {
    let (store_id, sku) = path.parse()?;
    authorize(&claims, PUSHERS, &store_id)?;
    let change = Change {
        operation_id: body.operation_id,
        sku,
        delta: body.delta,
        expected_version: parse_expected("expected_version", body.expected_version)?,
        occurred_at: body.occurred_at.unwrap_or_else(Utc::now),
        origin: Origin::Store,
        reason: None,
    };
    single(&state, &store_id, change).await
}

/// Decides one change and answers it; shared with head-office adjustments.
pub(crate) async fn single(
    state: &AppState,
    store_id: &StoreId,
    change: Change,
) -> Result<Response, ApiError> {
    let decisions = state
        .ledger
        .apply_batch(store_id, std::slice::from_ref(&change))
        .await
        .map_err(ledger_error)?;
    state.metrics.record_decisions(&decisions);
    let decision = decisions
        .first()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no decision for a single change")))?;
    if decision.outcome == domain::central::Outcome::Applied
        && !decision.replayed
        && change.origin == Origin::HeadOffice
    {
        state.nudger.nudge(store_id);
    }
    Ok(change_response(store_id, decision, change.expected_version))
}
