//! Transfers between stores at central: head office requests, cancels and
//! reads them; each store's worker reads the feed of its transfers.

use axum::extract::State;
use axum::http::StatusCode;
use domain::transfer::{TransferId, TransferOrder};
use protocol::error as responses;
use protocol::transfers::{
    TransferFeed, TransferFeedQuery, TransferPage, TransferQuery, TransferRequest, TransferView,
};
use service_infra::auth::{Bearer, Claims, Role};
use service_infra::event_log::read_page;
use service_infra::{ApiError, Json, Path, Query, database_error};
use uuid::Uuid;

use super::access::{ANY_ROLE, authorize, parse_field, store_scope};
use crate::projections::transfers::{self, TRANSFER_LOG, TransferRow};
use crate::service;
use crate::state::AppState;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![request, cancel, get_one, list, feed]
}

/// A stored row as its wire type; a row that does not parse is a 500.
fn view(row: TransferRow) -> Result<TransferView, ApiError> {
    let bad = |e: String| ApiError::internal(anyhow::anyhow!("stored transfer is invalid: {e}"));
    Ok(TransferView {
        transfer_id: TransferId::from(row.transfer_id),
        from_store: row
            .from_store
            .parse()
            .map_err(|e: domain::ValueError| bad(e.to_string()))?,
        to_store: row
            .to_store
            .parse()
            .map_err(|e: domain::ValueError| bad(e.to_string()))?,
        sku: row
            .sku
            .parse()
            .map_err(|e: domain::ValueError| bad(e.to_string()))?,
        quantity: row.quantity,
        status: row
            .status
            .parse()
            .map_err(|e: domain::ValueError| bad(e.to_string()))?,
        shipped: row.shipped,
        received: row.received,
        discrepancy: row.discrepancy,
        requested_at: row.requested_at,
        updated_at: row.updated_at,
        version: row.version,
    })
}

/// 404 unless the token may see the transfer (a store token: its own).
fn visible(
    claims: &Claims,
    row: Option<TransferRow>,
    id: TransferId,
) -> Result<TransferRow, ApiError> {
    row.filter(|row| {
        claims.may_access_store(&row.from_store) || claims.may_access_store(&row.to_store)
    })
    .ok_or_else(|| ApiError::not_found("transfer_not_found", format!("no transfer {id}")))
}

/// Ask one store to send units of an SKU to another. Both stores learn of
/// it within seconds (central nudges them); the source ships it from its
/// local API. Repeating a `transfer_id` with the same body answers the
/// transfer as it stands.
#[utoipa::path(post, path = "/v1/transfers", tag = "transfers", request_body = TransferRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = TransferView, description = "Requested (or the same request again)"),
        (status = 404, response = responses::SkuNotFound),
        (status = 409, response = responses::Conflict),
        (status = 422, response = responses::ValidationFailed),
        responses::BodyErrors,
        responses::TokenErrors,
    ))]
#[tracing::instrument(name = "request_transfer", skip_all)]
pub async fn request(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Json(body): Json<TransferRequest>,
) -> Result<(StatusCode, Json<TransferView>), ApiError> {
    claims.require_role(&[Role::Admin])?;
    let order = TransferOrder {
        transfer_id: body.transfer_id.unwrap_or_else(TransferId::new_v7),
        from_store: body.from_store,
        to_store: body.to_store,
        sku: body.sku,
        quantity: body.quantity.get(),
    };
    let row = service::request_transfer(&state, order, claims.sub).await?;
    Ok((StatusCode::CREATED, Json(view(row)?)))
}

/// Call off a transfer before it ships.
#[utoipa::path(post, path = "/v1/transfers/{transfer_id}/cancel", tag = "transfers",
    params(("transfer_id" = TransferId, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = TransferView, description = "Cancelled"),
        (status = 404, description = "`transfer_not_found`", body = protocol::ErrorBody),
        (status = 409, description = "`transfer_not_requested`: it shipped, arrived or was cancelled", body = protocol::ErrorBody),
        responses::ReadErrors,
        responses::TokenErrors,
    ))]
#[tracing::instrument(name = "cancel_transfer", skip_all, fields(transfer = %id))]
pub async fn cancel(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(id): Path<String>,
) -> Result<Json<TransferView>, ApiError> {
    claims.require_role(&[Role::Admin])?;
    let id: TransferId = parse_field("transfer_id", &id)?;
    let row = service::cancel_transfer(&state, id, claims.sub).await?;
    Ok(Json(view(row)?))
}

/// One transfer as it stands.
#[utoipa::path(get, path = "/v1/transfers/{transfer_id}", tag = "transfers",
    params(("transfer_id" = TransferId, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = TransferView),
        (status = 404, description = "`transfer_not_found`", body = protocol::ErrorBody),
        responses::ReadErrors,
        responses::TokenErrors,
    ))]
#[tracing::instrument(name = "transfer", skip_all, fields(transfer = %id))]
pub async fn get_one(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(id): Path<String>,
) -> Result<Json<TransferView>, ApiError> {
    claims.require_role(ANY_ROLE)?;
    let id: TransferId = parse_field("transfer_id", &id)?;
    let row = transfers::one(state.ledger.pool(), id)
        .await
        .map_err(database_error)?;
    Ok(Json(view(visible(&claims, row, id)?)?))
}

/// Transfers, oldest first, of one store (either side) and in one status
/// when asked; a store token lists its own store's.
#[utoipa::path(get, path = "/v1/transfers", tag = "transfers", params(TransferQuery),
    security(("bearer" = [])),
    responses((status = 200, body = TransferPage), responses::ReadErrors, responses::TokenErrors))]
#[tracing::instrument(name = "transfers", skip_all)]
pub async fn list(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Query(query): Query<TransferQuery>,
) -> Result<Json<TransferPage>, ApiError> {
    claims.require_role(ANY_ROLE)?;
    let store_id = store_scope(&claims, query.store_id.as_ref())?;
    let limit = i64::from(query.limit.get());
    let status = query.status.map(|status| status.as_str());
    let after = query.cursor.map(|id| id.as_uuid());
    let rows = transfers::page(
        state.ledger.pool(),
        store_id.as_deref(),
        status,
        after,
        limit,
    )
    .await
    .map_err(database_error)?;
    let items = rows.into_iter().map(view).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = protocol::limit::next_cursor(&items, limit, |item| item.transfer_id);
    Ok(Json(TransferPage { items, next_cursor }))
}

/// The transfers of one store that moved in central's log after `after`,
/// each as it stands now, with the cursor to continue from: how a store
/// learns of its transfers (the worker reads it on every sync).
#[utoipa::path(get, path = "/v1/sync/transfers", tag = "sync",
    params(TransferFeedQuery), security(("bearer" = [])),
    responses((status = 200, body = TransferFeed), responses::ReadErrors, responses::TokenErrors))]
#[tracing::instrument(name = "transfer_feed", skip_all, fields(store_id = %query.store_id))]
pub async fn feed(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Query(query): Query<TransferFeedQuery>,
) -> Result<Json<TransferFeed>, ApiError> {
    let store_id = &query.store_id;
    authorize(&claims, &[Role::SyncWorker, Role::Store], store_id)?;
    let filters = [("store_id", TRANSFER_LOG.to_owned())];
    let limit = i64::from(query.limit.get());
    let page = read_page(state.ledger.pool(), query.after.cursor(), limit, &filters)
        .await
        .map_err(database_error)?;
    let cursor = page.events.last().map(|event| event.cursor());
    let ids: Vec<Uuid> = page
        .events
        .iter()
        .filter_map(|event| event.aggregate_id.parse().ok())
        .collect();
    let rows = transfers::of_store(state.ledger.pool(), store_id.as_str(), &ids)
        .await
        .map_err(database_error)?;
    Ok(Json(TransferFeed {
        transfers: rows.into_iter().map(view).collect::<Result<_, _>>()?,
        cursor,
        more: page.next_cursor.is_some(),
        complete: page.complete,
    }))
}
