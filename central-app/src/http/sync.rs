//! The sync API the worker (or a store) pushes store changes to: a batch,
//! or one change. Every change is decided on its own, in order.

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use domain::StoreId;
use protocol::central::{BatchRequest, BatchResponse, ChangeAnswers, MAX_BATCH, SingleChange};
use protocol::error as responses;
use serde_json::json;
use service_infra::auth::{Bearer, Role};
use service_infra::{ApiError, Json, Path};

use super::access::{StoreSkuPath, authorize};
use super::error::change_result;
use crate::ledger::Change;
use crate::service;
use crate::state::AppState;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![push_batch, push_change]
}

const PUSHERS: &[Role] = &[Role::SyncWorker, Role::Store];

/// Push a batch of store changes.
#[utoipa::path(
    post, path = "/v1/sync/batch", tag = "sync",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "Each change decided on its own, in order", body = BatchResponse),
        (status = 422, response = responses::ValidationFailed),
        responses::BodyErrors,
        responses::TokenErrors,
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
    let received_at = Utc::now();
    let changes: Vec<Change> = request
        .changes
        .into_iter()
        .map(|change| Change::from_store(change, received_at))
        .collect();
    let decisions = service::decide_batch(&state, &request.store_id, &changes).await?;
    Ok(Json(BatchResponse {
        results: decisions.iter().map(change_result).collect(),
    }))
}

/// Push one store change.
#[utoipa::path(
    post, path = "/v1/stores/{store_id}/inventory/{sku}/changes", tag = "sync",
    params(("store_id" = StoreId, Path), ("sku" = domain::Sku, Path)),
    request_body = SingleChange,
    responses(ChangeAnswers, responses::BodyErrors, responses::TokenErrors),
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
    let change = Change::from_store(body.for_sku(sku), Utc::now());
    super::error::answer_one(&state, &store_id, &change).await
}
