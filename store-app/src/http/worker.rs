//! The store's API for the sync worker: `/v1/sync/...`, bearer token of
//! role `sync-worker` only (the local API is in `inventory.rs`, `sync.rs`
//! and `events.rs`). Every write is idempotent: the worker may repeat any
//! call after a crash or a broker redelivery.

use axum::extract::State;
use domain::OperationId;
use protocol::error as responses;
use protocol::worker::{
    CentralChangesRequest, Checkpoint, FailureReport, OutcomesRequest, PendingChange, PendingPage,
    PendingQuery, Recorded,
};
use service_infra::auth::{Bearer, Role};
use service_infra::{ApiError, Json, Query};
use uuid::Uuid;

use super::error::{database_error, stored};
use crate::app::AppState;
use crate::ledger::{Appended, CentralChange};
use crate::projections::queries::{self, ChangeStatus};

fn require_worker(claims: &service_infra::auth::Claims) -> Result<(), ApiError> {
    claims.require_role(&[Role::SyncWorker])
}

fn observe_settled(state: &AppState, appended: &[Appended]) {
    use domain::store::StockEvent;
    for entry in appended {
        let outcome = match &entry.event {
            StockEvent::ChangeSynced { .. } => "synced",
            StockEvent::ChangeRejected { .. } => "rejected",
            _ => continue,
        };
        state
            .metrics
            .sync_outcomes
            .with_label_values(&[outcome])
            .inc();
    }
}

fn recorded(count: usize) -> Json<Recorded> {
    Json(Recorded {
        recorded: count as u64,
    })
}

fn pending_change(row: ChangeStatus) -> Result<PendingChange, ApiError> {
    Ok(PendingChange {
        operation_id: OperationId::from(row.operation_id),
        sku: stored(row.sku)?,
        delta: stored(row.delta)?,
        expected_version: row.expected_version.map(stored).transpose()?,
        occurred_at: row.occurred_at,
        attempts: row.attempts,
    })
}

/// Pending changes in log order, for the worker to push.
#[utoipa::path(get, path = "/v1/sync/pending", tag = "worker", params(PendingQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PendingPage),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 405, response = responses::MethodNotAllowed),
        (status = 422, response = responses::ValidationFailed),
        (status = 503, response = responses::Unavailable),
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id))]
pub async fn pending(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Query(query): Query<PendingQuery>,
) -> Result<Json<PendingPage>, ApiError> {
    require_worker(&claims)?;
    let rows = queries::pending(state.ledger.pool(), i64::from(query.limit.get()))
        .await
        .map_err(database_error)?;
    Ok(Json(PendingPage {
        store_id: state.store_id.clone(),
        changes: rows
            .into_iter()
            .map(pending_change)
            .collect::<Result<_, _>>()?,
    }))
}

/// Records central's final answers; each becomes `ChangeSynced` or
/// `ChangeRejected` (rejecting the changes that depended on it too).
#[utoipa::path(post, path = "/v1/sync/outcomes", tag = "worker", request_body = OutcomesRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Recorded),
        (status = 400, response = responses::MalformedRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::SkuNotFound),
        (status = 405, response = responses::MethodNotAllowed),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::ValidationFailed),
        (status = 503, response = responses::Unavailable),
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, outcomes = body.outcomes.len()))]
pub async fn record_outcomes(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Json(body): Json<OutcomesRequest>,
) -> Result<Json<Recorded>, ApiError> {
    require_worker(&claims)?;
    let outcomes: Vec<_> = body
        .outcomes
        .into_iter()
        .map(|o| {
            let outcome = o
                .outcome
                .into_sync_outcome(o.version.get(), o.quantity.get());
            (o.sku, o.operation_id, outcome)
        })
        .collect();
    let appended = state.ledger.record_outcomes(&outcomes).await?;
    observe_settled(&state, &appended);
    Ok(recorded(appended.len()))
}

/// Marks changes `retrying` after a transient failure.
#[utoipa::path(post, path = "/v1/sync/failures", tag = "worker", request_body = FailureReport,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Recorded),
        (status = 400, response = responses::MalformedRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 405, response = responses::MethodNotAllowed),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::ValidationFailed),
        (status = 503, response = responses::Unavailable),
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id))]
pub async fn record_failure(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Json(body): Json<FailureReport>,
) -> Result<Json<Recorded>, ApiError> {
    require_worker(&claims)?;
    let ids: Vec<Uuid> = body
        .operation_ids
        .iter()
        .map(OperationId::as_uuid)
        .collect();
    let updated = queries::record_failure(
        state.ledger.pool(),
        &ids,
        body.error.as_str(),
        body.next_attempt_at.map(|at| at.0),
    )
    .await
    .map_err(database_error)?;
    Ok(recorded(updated as usize))
}

/// The cursor after the last central change this store applied.
#[utoipa::path(get, path = "/v1/sync/checkpoint", tag = "worker", security(("bearer" = [])),
    responses(
        (status = 200, body = Checkpoint),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 405, response = responses::MethodNotAllowed),
        (status = 503, response = responses::Unavailable),
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id))]
pub async fn checkpoint(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<Json<Checkpoint>, ApiError> {
    require_worker(&claims)?;
    let cursor = queries::central_checkpoint(state.ledger.pool())
        .await
        .map_err(database_error)?
        .map(|text| text.parse())
        .transpose()
        .map_err(|e| ApiError::internal(anyhow::anyhow!("stored checkpoint: {e}")))?;
    Ok(Json(Checkpoint { cursor }))
}

/// Applies central's changes to this store (`CentralChangeApplied`) and moves
/// the checkpoint, in one transaction; changes already reflected are skipped.
#[utoipa::path(post, path = "/v1/sync/central-changes", tag = "worker",
    request_body = CentralChangesRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = Recorded),
        (status = 400, response = responses::MalformedRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::SkuNotFound),
        (status = 405, response = responses::MethodNotAllowed),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::ValidationFailed),
        (status = 503, response = responses::Unavailable),
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, changes = body.changes.len()))]
pub async fn apply_central_changes(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Json(body): Json<CentralChangesRequest>,
) -> Result<Json<Recorded>, ApiError> {
    require_worker(&claims)?;
    let changes: Vec<_> = body
        .changes
        .into_iter()
        .map(|c| CentralChange {
            sku: c.sku,
            operation_id: c.operation_id,
            delta: c.delta,
            version: c.version.get(),
            quantity: c.quantity.get(),
        })
        .collect();
    let appended = state
        .ledger
        .apply_central_changes(&changes, &body.checkpoint.to_string())
        .await?;
    observe_settled(&state, &appended);
    Ok(recorded(appended.len()))
}
