//! The conflict inbox, `/v1/local/changes`: the changes that need a person
//! (refused by central, stuck retrying, or quarantined), reapplying a
//! refused change when the person decides it did happen, and retrying a
//! quarantined one after a fix.

use axum::extract::State;
use axum::response::Response;
use domain::OperationId;
use protocol::error as responses;
use protocol::local::{InboxChange, InboxPage, InboxQuery, SyncStatus, UpdateResponse};
use service_infra::{ApiError, Json, Path, Query, database_error};
use uuid::Uuid;

use super::inventory::created;
use super::local_auth::{LocalClient, MANAGE};
use super::sync_status::sync_status;
use crate::projections::queries::{self, ChangeStatus};
use crate::service;
use crate::state::AppState;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![list, reapply, retry]
}

/// The changes that need a person, in log order with cursor paging:
/// `rejected` (default) with central's reason, the refused change it
/// depended on and central's figures, `retrying`, or `quarantined`.
#[utoipa::path(get, path = "/v1/local/changes", tag = "changes", security(("bearer" = [])), params(InboxQuery),
    responses(
        responses::TokenErrors,
        (status = 200, body = InboxPage),
        responses::ReadErrors,
    ))]
#[tracing::instrument(skip_all)]
pub async fn list(
    State(state): State<AppState>,
    client: LocalClient,
    Query(query): Query<InboxQuery>,
) -> Result<Json<InboxPage>, ApiError> {
    client.require(MANAGE)?;
    let pool = state.ledger.pool();
    let after = query.cursor.map_or(Ok(0), i64::try_from).map_err(|_| {
        ApiError::validation(
            "cursor is too large",
            serde_json::json!({ "field": "cursor" }),
        )
    })?;
    let limit = i64::from(query.limit.get());
    let rows = queries::inbox(pool, query.status, after, limit)
        .await
        .map_err(database_error)?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last().and_then(|row| row.change.position))
        .flatten()
        .and_then(|position| u64::try_from(position).ok());
    // A change was reapplied when the change under its derived id exists.
    let candidates: Vec<OperationId> = rows
        .iter()
        .map(|row| OperationId::from(row.change.operation_id).reapplication())
        .collect();
    let ids: Vec<Uuid> = candidates.iter().map(OperationId::as_uuid).collect();
    let reapplied = queries::existing_changes(pool, &ids)
        .await
        .map_err(database_error)?;
    let changes = rows
        .into_iter()
        .zip(candidates)
        .map(|(row, candidate)| {
            let reapplied_as = reapplied
                .contains(&candidate.as_uuid())
                .then_some(candidate);
            inbox_change(row, reapplied_as)
        })
        .collect::<Result<_, _>>()?;
    Ok(Json(InboxPage {
        changes,
        next_cursor,
    }))
}

fn inbox_change(
    row: ChangeStatus,
    reapplied_as: Option<OperationId>,
) -> Result<InboxChange, ApiError> {
    let (occurred_at, expected_version, central_quantity) = (
        row.change.occurred_at,
        row.change.expected_version,
        row.change.central_quantity,
    );
    Ok(InboxChange {
        sync: sync_status(row)?,
        occurred_at,
        expected_version,
        central_quantity,
        reapplied_as,
    })
}

/// Records a refused change again, unconditionally and with the same delta,
/// for when a person decides it did happen: a new change whose operation id
/// is derived from the original's (reapplying twice is one change; the
/// repeat answers with `Idempotent-Replayed: true`) and whose event names
/// the original (`reapplies`). It syncs like any other change.
#[utoipa::path(post, path = "/v1/local/changes/{operation_id}/reapply", tag = "changes", security(("bearer" = [])),
    params(("operation_id" = OperationId, Path)),
    responses(
        responses::TokenErrors,
        (status = 201, body = UpdateResponse, description = "Recorded (or replayed, with `Idempotent-Replayed: true`)"),
        (status = 404, response = responses::OperationNotFound),
        (status = 409, response = responses::NotRejected),
        (status = 422, response = responses::ValidationOrStock),
        responses::ReadErrors,
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, operation_id = %operation_id))]
pub async fn reapply(
    State(state): State<AppState>,
    client: LocalClient,
    Path(operation_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    client.require(MANAGE)?;
    let original = OperationId::from(operation_id);
    let change = service::reapply(&state, original, client.client_id).await?;
    Ok(created(&change))
}

/// Puts a quarantined change back in the queue to central, once whatever
/// made central refuse it is fixed, and nudges the worker. If central still
/// refuses it, the worker quarantines it again.
#[utoipa::path(post, path = "/v1/local/changes/{operation_id}/retry", tag = "changes", security(("bearer" = [])),
    params(("operation_id" = OperationId, Path)),
    responses(
        responses::TokenErrors,
        (status = 200, body = SyncStatus, description = "Back in the queue (status `retrying`)"),
        (status = 404, response = responses::OperationNotFound),
        (status = 409, response = responses::NotQuarantined),
        responses::ReadErrors,
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, operation_id = %operation_id))]
pub async fn retry(
    State(state): State<AppState>,
    client: LocalClient,
    Path(operation_id): Path<Uuid>,
) -> Result<Json<SyncStatus>, ApiError> {
    client.require(MANAGE)?;
    service::release(&state, OperationId::from(operation_id)).await?;
    let change = queries::change(state.ledger.pool(), operation_id)
        .await
        .map_err(database_error)?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a released change vanished")))?;
    sync_status(change).map(Json)
}
