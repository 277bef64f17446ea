//! The store's API for the sync worker: `/v1/sync/...`, bearer token of
//! role `sync-worker` only (the local API is in `inventory.rs`, `sync_status.rs`
//! and `events.rs`). Every write is idempotent: the worker may repeat any
//! call after a crash or a broker redelivery.

use axum::extract::State;
use domain::OperationId;
use domain::reservation::ReservationId;
use domain::transfer::TransferId;
use protocol::error as responses;
use protocol::transfers::TransferUpdate;
use protocol::worker::{
    CentralChangesRequest, Checkpoint, FailureReport, OutcomesRequest, PendingChange, PendingPage,
    PendingQuery, QuarantineReport, Recorded,
};
use service_infra::auth::{Bearer, Role};
use service_infra::{ApiError, Json, Query};

use super::error::stored;
use crate::ledger::CentralChange;
use crate::projections::queries::{self, ChangeStatus};
use crate::service;
use crate::state::AppState;
use crate::transfers;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;
use service_infra::database_error;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![
        pending,
        record_outcomes,
        record_failure,
        quarantine,
        checkpoint,
        apply_central_changes,
        save_transfers
    ]
}

fn require_worker(claims: &service_infra::auth::Claims) -> Result<(), ApiError> {
    claims.require_role(&[Role::SyncWorker])
}

fn recorded(count: usize) -> Json<Recorded> {
    Json(Recorded {
        recorded: count as u64,
    })
}

fn pending_change(status: ChangeStatus) -> Result<PendingChange, ApiError> {
    let change = status.change;
    Ok(PendingChange {
        operation_id: OperationId::from(change.operation_id),
        sku: stored(change.sku)?,
        kind: stored(change.kind)?,
        delta: stored(change.delta)?,
        expected_version: change.expected_version.map(stored).transpose()?,
        occurred_at: change.occurred_at,
        client: change.client_id.map(stored).transpose()?,
        transfer_id: change.transfer_id.map(TransferId::from),
        reservation_id: change.reservation_id.map(ReservationId::from),
        attempts: status.attempts,
    })
}

/// Pending changes in log order, for the worker to push.
#[utoipa::path(get, path = "/v1/sync/pending", tag = "worker", params(PendingQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PendingPage),
        responses::ReadErrors,
        responses::TokenErrors,
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
    responses((status = 200, body = Recorded), responses::WorkerWriteErrors))]
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
    let appended = service::record_outcomes(&state, &outcomes).await?;
    Ok(recorded(appended.len()))
}

/// Marks changes `retrying` after a transient failure.
#[utoipa::path(post, path = "/v1/sync/failures", tag = "worker", request_body = FailureReport,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Recorded),
        (status = 422, response = responses::ValidationFailed),
        responses::BodyErrors,
        responses::TokenErrors,
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id))]
pub async fn record_failure(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Json(body): Json<FailureReport>,
) -> Result<Json<Recorded>, ApiError> {
    require_worker(&claims)?;
    let updated = state
        .ledger
        .record_failure(
            &body.operation_ids,
            body.error.as_str(),
            body.next_attempt_at.map(|at| at.0),
        )
        .await?;
    Ok(Json(Recorded { recorded: updated }))
}

/// Sets a pending change aside because central refuses any batch holding
/// it: the pending list skips it until an operator retries it
/// (`POST /v1/local/changes/{operation_id}/retry`).
#[utoipa::path(post, path = "/v1/sync/quarantine", tag = "worker", request_body = QuarantineReport,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Recorded, description = "`recorded`: 1, or 0 when the change was not pending or already quarantined"),
        (status = 422, response = responses::ValidationFailed),
        responses::BodyErrors,
        responses::TokenErrors,
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, operation_id = %body.operation_id))]
pub async fn quarantine(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Json(body): Json<QuarantineReport>,
) -> Result<Json<Recorded>, ApiError> {
    require_worker(&claims)?;
    let set_aside = state
        .ledger
        .quarantine(body.operation_id, body.error.as_str())
        .await?;
    if set_aside {
        tracing::error!(error = %body.error.as_str(), "change quarantined: central refuses any batch holding it");
    }
    Ok(recorded(usize::from(set_aside)))
}

/// The cursors after the last central change this store applied and the
/// last transfer it saved.
#[utoipa::path(get, path = "/v1/sync/checkpoint", tag = "worker", security(("bearer" = [])),
    responses(
        (status = 200, body = Checkpoint),
        responses::ReadErrors,
        responses::TokenErrors,
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id))]
pub async fn checkpoint(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<Json<Checkpoint>, ApiError> {
    require_worker(&claims)?;
    let parse = |text: Option<String>| {
        text.map(|text| text.parse())
            .transpose()
            .map_err(|e| ApiError::internal(anyhow::anyhow!("stored checkpoint: {e}")))
    };
    let pool = state.ledger.pool();
    let cursor = parse(
        queries::central_checkpoint(pool)
            .await
            .map_err(database_error)?,
    )?;
    let transfers = parse(transfers::checkpoint(pool).await.map_err(database_error)?)?;
    Ok(Json(Checkpoint { cursor, transfers }))
}

/// Saves central's copies of this store's transfers (a newer copy replaces
/// an older one, never the reverse) with the feed's cursor, in one
/// transaction.
#[utoipa::path(post, path = "/v1/sync/transfers", tag = "worker",
    request_body = TransferUpdate, security(("bearer" = [])),
    responses((status = 200, body = Recorded), responses::WorkerWriteErrors))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, transfers = body.transfers.len()))]
pub async fn save_transfers(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Json(body): Json<TransferUpdate>,
) -> Result<Json<Recorded>, ApiError> {
    require_worker(&claims)?;
    let checkpoint = body.checkpoint.to_string();
    let saved = transfers::save(state.ledger.pool(), &body.transfers, &checkpoint)
        .await
        .map_err(database_error)?;
    Ok(Json(Recorded { recorded: saved }))
}

/// Applies central's changes to this store (`CentralChangeApplied`) and moves
/// the checkpoint, in one transaction; changes already reflected are skipped.
#[utoipa::path(post, path = "/v1/sync/central-changes", tag = "worker",
    request_body = CentralChangesRequest, security(("bearer" = [])),
    responses((status = 200, body = Recorded), responses::WorkerWriteErrors))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, changes = body.changes.len()))]
pub async fn apply_central_changes(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Json(body): Json<CentralChangesRequest>,
) -> Result<Json<Recorded>, ApiError> {
    require_worker(&claims)?;
    let changes: Vec<CentralChange> = body.changes.into_iter().map(Into::into).collect();
    let checkpoint = body.checkpoint.to_string();
    let appended =
        service::apply_central_changes(&state, &changes, &body.holds, &checkpoint).await?;
    Ok(recorded(appended.len()))
}
