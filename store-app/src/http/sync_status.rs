//! A change's sync status and the manual sync trigger:
//! `/v1/local/sync/...` (the store's local API; the worker's API is in
//! `worker_api.rs`).

use axum::extract::State;
use axum::http::StatusCode;
use domain::OperationId;
use domain::store::RejectionReason;
use protocol::SyncState;
use protocol::error as responses;
use protocol::local::{SyncStatus, TriggerResponse};
use serde::Deserialize;
use service_infra::{ApiError, Json, Path};
use uuid::Uuid;

use super::error::stored;
use super::local_auth::{LocalClient, MANAGE, READ};
use crate::projections::queries::{self, ChangeStatus};
use crate::state::AppState;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;
use service_infra::database_error;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![status, trigger]
}

/// Where a stored change stands, as the sync status reports it.
fn sync_state(status: &ChangeStatus) -> Result<SyncState, ApiError> {
    match status.change.status.as_str() {
        "pending" if status.quarantined_at.is_some() => Ok(SyncState::Quarantined),
        "pending" if status.attempts > 0 => Ok(SyncState::Retrying),
        "pending" => Ok(SyncState::Pending),
        "synced" => Ok(SyncState::Synced),
        "rejected" => Ok(SyncState::Rejected),
        other => Err(ApiError::internal(anyhow::anyhow!(
            "unknown change status {other:?}"
        ))),
    }
}

/// The stored `result_code` read back with the reason's own serde names.
fn rejection_reason(code: &str) -> Result<RejectionReason, ApiError> {
    RejectionReason::deserialize(serde_json::Value::from(code))
        .map_err(|_| ApiError::internal(anyhow::anyhow!("unknown rejection reason {code:?}")))
}

pub(super) fn sync_status(stored_status: ChangeStatus) -> Result<SyncStatus, ApiError> {
    let status = sync_state(&stored_status)?;
    let ChangeStatus {
        change,
        attempts,
        last_error,
        next_attempt_at,
        ..
    } = stored_status;
    let message = match (status, &change.result_code, &change.because_of) {
        (SyncState::Synced, ..) => "applied at central".to_owned(),
        (SyncState::Rejected, _, Some(cause)) => {
            format!("rejected: it depended on change {cause}, which central rejected")
        }
        (SyncState::Rejected, Some(code), None) => format!("rejected by central: {code}"),
        (SyncState::Retrying, ..) => "waiting to retry after a transient error".to_owned(),
        (SyncState::Quarantined, ..) => {
            "set aside: central refuses any batch holding it; retry it after a fix".to_owned()
        }
        _ => "waiting to be sent to central".to_owned(),
    };
    Ok(SyncStatus {
        // As in the prototype: ok only once central has the change.
        ok: status == SyncState::Synced,
        operation_id: OperationId::from(change.operation_id),
        sku: stored(change.sku)?,
        delta: stored(change.delta)?,
        status,
        message,
        attempts,
        last_error,
        next_attempt_at,
        central_version: change.central_version,
        reason: change
            .result_code
            .as_deref()
            .map(rejection_reason)
            .transpose()?,
        because_of: change.because_of.map(OperationId::from),
    })
}

/// The sync status of one change.
#[utoipa::path(get, path = "/v1/local/sync/status/{operation_id}", tag = "sync", security(("bearer" = [])),
    params(("operation_id" = OperationId, Path)),
    responses(
        responses::TokenErrors,
        (status = 200, body = SyncStatus),
        (status = 404, response = responses::OperationNotFound),
        responses::ReadErrors,
    ))]
#[tracing::instrument(skip_all, fields(operation_id = %operation_id))]
pub async fn status(
    State(state): State<AppState>,
    client: LocalClient,
    Path(operation_id): Path<Uuid>,
) -> Result<Json<SyncStatus>, ApiError> {
    client.require(READ)?;
    let change = queries::change(state.ledger.pool(), operation_id)
        .await
        .map_err(database_error)?
        .ok_or_else(|| {
            ApiError::not_found(
                "operation_not_found",
                format!("no change with operation id {operation_id}"),
            )
        })?;
    sync_status(change).map(Json)
}

/// Asks the sync worker to sync this store now.
#[utoipa::path(post, path = "/v1/local/sync/trigger", tag = "sync", security(("bearer" = [])),
    responses(
        responses::TokenErrors,
        (status = 202, body = TriggerResponse),
        (status = 405, response = responses::MethodNotAllowed),
        (status = 503, response = responses::BrokerUnavailable),
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id))]
pub async fn trigger(
    State(state): State<AppState>,
    client: LocalClient,
) -> Result<(StatusCode, Json<TriggerResponse>), ApiError> {
    client.require(MANAGE)?;
    state
        .nudger
        .publish_now(state.store_id.as_str())
        .await
        .map_err(|error| {
            tracing::warn!(%error, "sync trigger not delivered");
            ApiError::unavailable(
                "broker_unavailable",
                "the message broker is unavailable; pending changes stay queued and sync when it returns",
                10,
            )
        })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(TriggerResponse {
            store_id: state.store_id.clone(),
            status: "sync requested".into(),
        }),
    ))
}
