//! This store's transfers: `/v1/local/transfers`. Central tells the store
//! of them through the worker's pull; the store ships (source) or receives
//! (destination) with a change of its own, offline too.

use axum::extract::State;
use axum::response::Response;
use domain::store::ChangeNote;
use domain::transfer::{TransferId, TransferStep};
use domain::{ChangeKind, Delta, StoreId};
use protocol::SyncState;
use protocol::error as responses;
use protocol::transfers::{
    LocalTransfer, LocalTransferPage, LocalTransferQuery, LocalTransferStatus, ReceiveRequest,
    TransferStepResponse, TransferView,
};
use serde_json::json;
use service_infra::{ApiError, Json, Path, Query, database_error};

use super::error::{invalid, stored};
use super::inventory::created_or_replayed;
use super::local_auth::{LocalClient, READ, WRITE};
use crate::ledger::ChangeRequest;
use crate::projections::queries;
use crate::service;
use crate::state::AppState;
use crate::transfers::{self, TransferCopy};
use service_infra::api_routes;
use service_infra::app::ApiRoutes;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![list, get_one, ship, receive]
}

fn local_transfer(copy: TransferCopy) -> Result<LocalTransfer, ApiError> {
    let local_status = serde_json::from_value(json!(copy.local_status)).map_err(|e| {
        ApiError::internal(anyhow::anyhow!("stored transfer status is invalid: {e}"))
    })?;
    Ok(LocalTransfer {
        central: TransferView {
            transfer_id: TransferId::from(copy.transfer_id),
            from_store: stored(copy.from_store)?,
            to_store: stored(copy.to_store)?,
            sku: stored(copy.sku)?,
            quantity: copy.quantity,
            status: copy.status.parse().map_err(|e: domain::ValueError| {
                ApiError::internal(anyhow::anyhow!("stored transfer status: {e}"))
            })?,
            shipped: copy.shipped,
            received: copy.received,
            discrepancy: copy.discrepancy,
            requested_at: copy.requested_at,
            updated_at: copy.updated_at,
            version: copy.version,
        },
        local_status,
    })
}

/// The transfer in the path as this store knows it, or 422 (bad id) / 404
/// (central has not told this store of it).
async fn known_transfer(state: &AppState, raw: &str) -> Result<LocalTransfer, ApiError> {
    let id: TransferId = raw.parse().map_err(|e| invalid("transfer_id", e))?;
    let copy = transfers::one(state.ledger.pool(), id)
        .await
        .map_err(database_error)?
        .ok_or_else(|| {
            ApiError::not_found(
                "transfer_not_found",
                format!("this store has not heard of transfer {id} (yet)"),
            )
        })?;
    local_transfer(copy)
}

/// 409 unless this store may take `step` now: it is the transfer's `side`,
/// and the transfer stands at `ready` here, or this store took the step
/// before (the repeat answers the first).
async fn check_step(
    state: &AppState,
    transfer: &LocalTransfer,
    (step, side, ready): (TransferStep, &StoreId, LocalTransferStatus),
) -> Result<(), ApiError> {
    let id = transfer.central.transfer_id;
    let verb = step.as_str();
    if *side != state.store_id {
        return Err(ApiError::conflict(
            "transfer_wrong_store",
            format!(
                "store {} cannot {verb} transfer {id}: that is {side}'s step",
                state.store_id
            ),
        ));
    }
    let taken = queries::change(state.ledger.pool(), id.step(step).as_uuid())
        .await
        .map_err(database_error)?
        .is_some();
    if taken || transfer.local_status == ready {
        return Ok(());
    }
    let status = json!(transfer.local_status);
    Err(ApiError::conflict(
        "transfer_not_ready",
        format!("transfer {id} is {status} here: it cannot be {verb}ed now"),
    )
    .with_details(json!({ "local_status": status })))
}

/// Records this store's step as a change (a repeat is answered as the
/// first); 201 with the change and where the transfer now stands here.
async fn take_step(
    state: &AppState,
    transfer: &LocalTransfer,
    (step, kind, units): (TransferStep, ChangeKind, i64),
    client: Option<String>,
) -> Result<Response, ApiError> {
    let view = &transfer.central;
    let other = match step {
        TransferStep::Ship => format!("to {}", view.to_store),
        TransferStep::Receive => format!("from {}", view.from_store),
    };
    let request = ChangeRequest {
        sku: view.sku.clone(),
        operation_id: view.transfer_id.step(step),
        kind,
        delta: Delta::try_from(units).map_err(|e| invalid("quantity", e))?,
        expected_version: None,
        note: ChangeNote {
            reason: Some(format!("transfer {} {other}", view.transfer_id)),
            client,
            transfer: Some(view.transfer_id),
            ..ChangeNote::default()
        },
    };
    let change = service::record_change(state, Ok(request)).await?;
    let now = known_transfer(state, &view.transfer_id.to_string()).await?;
    let body = TransferStepResponse {
        transfer_id: view.transfer_id,
        operation_id: change.operation_id,
        kind,
        delta: change.delta.get(),
        quantity: change.quantity,
        version: change.version,
        status: SyncState::Pending,
        local_status: now.local_status,
    };
    Ok(created_or_replayed(body, change.replayed))
}

/// Ship a transfer this store sends: a `transfer_out` change of the
/// transfer's quantity, synced like any change (works offline once the
/// store has the transfer). Shipping again answers the first shipment.
#[utoipa::path(post, path = "/v1/local/transfers/{transfer_id}/ship", tag = "transfers",
    params(("transfer_id" = TransferId, Path)), security(("bearer" = [])),
    responses(
        responses::TokenErrors,
        (status = 201, body = TransferStepResponse, description = "Shipped here (or the first shipment again, with `Idempotent-Replayed: true`)"),
        (status = 404, description = "`transfer_not_found`: central has not told this store of it", body = protocol::ErrorBody),
        (status = 409, description = "`transfer_wrong_store` (not this store's step) or `transfer_not_ready` (cancelled, already shipped)", body = protocol::ErrorBody),
        (status = 422, response = responses::ValidationOrStock),
        responses::ReadErrors,
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, transfer = %id))]
pub async fn ship(
    State(state): State<AppState>,
    client: LocalClient,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    client.require(WRITE)?;
    let transfer = known_transfer(&state, &id).await?;
    let ready = (
        TransferStep::Ship,
        &transfer.central.from_store,
        LocalTransferStatus::Requested,
    );
    check_step(&state, &transfer, ready).await?;
    let units = -transfer.central.quantity;
    let step = (TransferStep::Ship, ChangeKind::TransferOut, units);
    take_step(&state, &transfer, step, client.client_id).await
}

/// Receive a transfer this store is sent: a `transfer_in` change of the
/// units that arrived; a difference from what shipped becomes the
/// transfer's `discrepancy` at central. Receiving again with the same
/// figure answers the first receipt; another figure is 409.
#[utoipa::path(post, path = "/v1/local/transfers/{transfer_id}/receive", tag = "transfers",
    params(("transfer_id" = TransferId, Path)), request_body = ReceiveRequest, security(("bearer" = [])),
    responses(
        responses::TokenErrors,
        (status = 201, body = TransferStepResponse, description = "Received here (or the first receipt again, with `Idempotent-Replayed: true`)"),
        (status = 404, description = "`transfer_not_found`: central has not told this store of it", body = protocol::ErrorBody),
        (status = 409, description = "`transfer_wrong_store`, `transfer_not_ready` (not shipped yet, cancelled) or `operation_id_reused` (received before with another figure)", body = protocol::ErrorBody),
        (status = 422, response = responses::ValidationFailed),
        responses::BodyErrors,
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, transfer = %id))]
pub async fn receive(
    State(state): State<AppState>,
    client: LocalClient,
    Path(id): Path<String>,
    Json(body): Json<ReceiveRequest>,
) -> Result<Response, ApiError> {
    client.require(WRITE)?;
    let transfer = known_transfer(&state, &id).await?;
    let ready = (
        TransferStep::Receive,
        &transfer.central.to_store,
        LocalTransferStatus::Shipped,
    );
    check_step(&state, &transfer, ready).await?;
    let step = (
        TransferStep::Receive,
        ChangeKind::TransferIn,
        body.received.get(),
    );
    take_step(&state, &transfer, step, client.client_id).await
}

/// One transfer this store sends or receives.
#[utoipa::path(get, path = "/v1/local/transfers/{transfer_id}", tag = "transfers",
    params(("transfer_id" = TransferId, Path)), security(("bearer" = [])),
    responses(
        responses::TokenErrors,
        (status = 200, body = LocalTransfer),
        (status = 404, description = "`transfer_not_found`", body = protocol::ErrorBody),
        responses::ReadErrors,
    ))]
#[tracing::instrument(skip_all, fields(transfer = %id))]
pub async fn get_one(
    State(state): State<AppState>,
    client: LocalClient,
    Path(id): Path<String>,
) -> Result<Json<LocalTransfer>, ApiError> {
    client.require(READ)?;
    known_transfer(&state, &id).await.map(Json)
}

/// This store's transfers, oldest first, in one status here when asked.
#[utoipa::path(get, path = "/v1/local/transfers", tag = "transfers", params(LocalTransferQuery),
    security(("bearer" = [])),
    responses(responses::TokenErrors, (status = 200, body = LocalTransferPage), responses::ReadErrors))]
#[tracing::instrument(skip_all)]
pub async fn list(
    State(state): State<AppState>,
    client: LocalClient,
    Query(query): Query<LocalTransferQuery>,
) -> Result<Json<LocalTransferPage>, ApiError> {
    client.require(READ)?;
    let limit = i64::from(query.limit.get());
    let status = query
        .status
        .map(|status| json!(status).as_str().unwrap_or_default().to_owned());
    let after = query.cursor.map(|id| id.as_uuid());
    let rows = transfers::page(state.ledger.pool(), status.as_deref(), after, limit)
        .await
        .map_err(database_error)?;
    let items = rows
        .into_iter()
        .map(local_transfer)
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = protocol::limit::next_cursor(&items, limit, |item| item.central.transfer_id);
    Ok(Json(LocalTransferPage { items, next_cursor }))
}
