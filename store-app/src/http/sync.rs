//! A change's sync status and the manual sync trigger: `/v1/local/sync/...`.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use service_infra::{ApiError, Json, Path};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::database_error;
use crate::app::AppState;
use crate::projections::queries::{self, ChangeStatus};

/// Where a change stands with central.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncStatus {
    pub operation_id: Uuid,
    pub sku: String,
    pub delta: i64,
    /// `pending`, `retrying`, `synced` or `rejected`.
    pub status: String,
    /// False only when the change was rejected.
    pub ok: bool,
    pub message: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Central's version after the change (synced) or when it refused it.
    pub central_version: Option<i64>,
    /// Why it was rejected: `version_conflict` or `insufficient_stock`.
    pub reason: Option<String>,
    /// The rejected change this one depended on.
    pub because_of: Option<Uuid>,
}

impl From<ChangeStatus> for SyncStatus {
    fn from(change: ChangeStatus) -> Self {
        let status = match change.status.as_str() {
            "pending" if change.attempts > 0 => "retrying",
            other => other,
        }
        .to_owned();
        let message = match (status.as_str(), &change.result_code, &change.because_of) {
            ("synced", ..) => "applied at central".to_owned(),
            ("rejected", _, Some(cause)) => {
                format!("rejected: it depended on change {cause}, which central rejected")
            }
            ("rejected", Some(code), None) => format!("rejected by central: {code}"),
            ("retrying", ..) => "waiting to retry after a transient error".to_owned(),
            _ => "waiting to be sent to central".to_owned(),
        };
        Self {
            ok: status != "rejected",
            operation_id: change.operation_id,
            sku: change.sku,
            delta: change.delta,
            status,
            message,
            attempts: change.attempts,
            last_error: change.last_error,
            next_attempt_at: change.next_attempt_at,
            central_version: change.central_version,
            reason: change.result_code,
            because_of: change.because_of,
        }
    }
}

/// Accepted trigger.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TriggerResponse {
    pub store_id: String,
    pub status: String,
}

/// The sync status of one change.
#[utoipa::path(get, path = "/v1/local/sync/status/{operation_id}", tag = "sync",
    params(("operation_id" = Uuid, Path)),
    responses((status = 200, body = SyncStatus),
              (status = 404, body = service_infra::ErrorBody, description = "operation_not_found"),
              (status = 422, body = service_infra::ErrorBody, description = "validation_failed")))]
#[tracing::instrument(skip_all, fields(operation_id = %operation_id))]
pub async fn status(
    State(state): State<AppState>,
    Path(operation_id): Path<Uuid>,
) -> Result<Json<SyncStatus>, ApiError> {
    queries::change(state.ledger.pool(), operation_id)
        .await
        .map_err(database_error)?
        .map(|change| Json(change.into()))
        .ok_or_else(|| {
            ApiError::not_found(
                "operation_not_found",
                format!("no change with operation id {operation_id}"),
            )
        })
}

/// Asks the sync worker to sync this store now.
#[utoipa::path(post, path = "/v1/local/sync/trigger", tag = "sync",
    responses((status = 202, body = TriggerResponse),
              (status = 503, body = service_infra::ErrorBody, description = "broker_unavailable")))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id))]
pub async fn trigger(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<TriggerResponse>), ApiError> {
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
            store_id: state.store_id.to_string(),
            status: "sync requested".into(),
        }),
    ))
}
