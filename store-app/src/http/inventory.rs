//! Stock updates and reads: `/v1/local/inventory/...`.

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::store::ChangeNote;
use domain::{OperationId, Sku};
use protocol::SyncState;
use protocol::error as responses;
use protocol::local::{
    LatestOperation, StockPage, StockPageQuery, StockView, UpdateRequest, UpdateResponse,
};
use service_infra::{ApiError, Json, Path, Query};

use super::error::{invalid, stored};
use super::local_auth::{LocalClient, READ, WRITE};
use crate::ledger::{AcceptedChange, ChangeRequest};
use crate::projections::queries;
use crate::projections::queries::StockWithHolds;
use crate::service;
use crate::state::AppState;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;
use service_infra::database_error;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![list, get_one, update, latest_operation]
}

/// Header set on the answer to a repeated operation id.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

pub(super) fn parse_sku(raw: &str) -> Result<Sku, ApiError> {
    raw.parse().map_err(|e| invalid("sku", e))
}

/// The stock row of the SKU in a path, or 422 (bad SKU) / 404 (unknown).
async fn stock_row(state: &AppState, raw_sku: &str) -> Result<StockWithHolds, ApiError> {
    let sku = parse_sku(raw_sku)?;
    queries::stock_item(state.ledger.pool(), sku.as_str())
        .await
        .map_err(database_error)?
        .ok_or_else(|| ApiError::not_found("sku_not_found", format!("sku {sku} is not registered")))
}

fn stock_view(stock: StockWithHolds) -> Result<StockView, ApiError> {
    let (row, reserved) = (stock.row, stock.reserved);
    Ok(StockView {
        reserved,
        available: row.quantity - reserved,
        sku: stored(row.sku)?,
        name: row.name,
        quantity: row.quantity,
        confirmed_quantity: row.confirmed_quantity,
        confirmed_version: row.confirmed_version,
        version: row.version,
        pending_changes: row.pending_changes,
        last_synced_at: row.last_synced_at,
        last_counted_at: row.last_counted_at,
    })
}

fn change_request(sku: Sku, body: UpdateRequest, client: Option<String>) -> ChangeRequest {
    ChangeRequest {
        sku,
        operation_id: body.operation_id.unwrap_or_else(OperationId::new_v7),
        kind: body.kind.into(),
        delta: body.delta,
        expected_version: body.version.map(protocol::StreamVersion::get),
        note: ChangeNote {
            reason: body.reason.map(protocol::Reason::into_inner),
            client,
            ..ChangeNote::default()
        },
    }
}

fn update_response(change: &AcceptedChange) -> UpdateResponse {
    UpdateResponse {
        operation_id: change.operation_id,
        sku: change.sku.clone(),
        kind: change.kind,
        delta: change.delta,
        quantity: change.quantity,
        version: change.version,
        status: SyncState::Pending,
    }
}

/// Records a stock change at this store; it syncs to central in the
/// background. Repeating an `operation_id` with the same body answers with
/// the original result and `Idempotent-Replayed: true`.
#[utoipa::path(post, path = "/v1/local/inventory/{sku}/update", tag = "inventory", security(("bearer" = [])),
    params(("sku" = Sku, Path)),
    request_body = UpdateRequest,
    responses(
        responses::TokenErrors,
        (status = 201, body = UpdateResponse, description = "Accepted (or replayed, with `Idempotent-Replayed: true`)"),
        (status = 404, response = responses::SkuNotFound),
        (status = 409, response = responses::Conflict),
        (status = 422, response = responses::ValidationOrStock),
        responses::BodyErrors,
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, sku = %sku, client = ?client.client_id, operation_id))]
pub async fn update(
    State(state): State<AppState>,
    client: LocalClient,
    Path(sku): Path<String>,
    body: Result<Json<UpdateRequest>, ApiError>,
) -> Result<Response, ApiError> {
    client.require(WRITE)?;
    // A refused body is counted like any other refused update.
    let client_id = client.client_id;
    let request = body.and_then(|Json(body)| Ok(change_request(parse_sku(&sku)?, body, client_id)));
    if let Ok(request) = &request {
        tracing::Span::current().record(
            "operation_id",
            tracing::field::display(request.operation_id),
        );
    }
    let change = service::record_change(&state, request).await?;
    Ok(created(&change))
}

/// `201` with the change's figures, and `Idempotent-Replayed: true` when it
/// answers a repeat.
pub(super) fn created(change: &AcceptedChange) -> Response {
    created_or_replayed(update_response(change), change.replayed)
}

/// `201` with `body`, and `Idempotent-Replayed: true` when it answers a
/// repeat of an operation id.
pub(super) fn created_or_replayed(body: impl serde::Serialize, replayed: bool) -> Response {
    let body = Json(body);
    if replayed {
        let replayed = [(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"))];
        return (StatusCode::CREATED, replayed, body).into_response();
    }
    (StatusCode::CREATED, body).into_response()
}

/// One SKU's stock at this store.
#[utoipa::path(get, path = "/v1/local/inventory/{sku}", tag = "inventory", security(("bearer" = [])),
    params(("sku" = Sku, Path)),
    responses(
        responses::TokenErrors,
        (status = 200, body = StockView),
        (status = 404, response = responses::SkuNotFound),
        responses::ReadErrors,
    ))]
#[tracing::instrument(skip_all, fields(sku = %sku))]
pub async fn get_one(
    State(state): State<AppState>,
    client: LocalClient,
    Path(sku): Path<String>,
) -> Result<Json<StockView>, ApiError> {
    client.require(READ)?;
    stock_row(&state, &sku).await.and_then(stock_view).map(Json)
}

/// Every SKU at this store, in SKU order, with cursor paging.
#[utoipa::path(get, path = "/v1/local/inventory", tag = "inventory", security(("bearer" = [])), params(StockPageQuery),
    responses(
        responses::TokenErrors,
        (status = 200, body = StockPage),
        responses::ReadErrors,
    ))]
#[tracing::instrument(skip_all)]
pub async fn list(
    State(state): State<AppState>,
    client: LocalClient,
    Query(query): Query<StockPageQuery>,
) -> Result<Json<StockPage>, ApiError> {
    client.require(READ)?;
    let limit = i64::from(query.limit.get());
    let cursor = query.cursor.as_ref().map(Sku::as_str);
    let rows = queries::stock_page(state.ledger.pool(), cursor, limit)
        .await
        .map_err(database_error)?;
    let items = rows
        .into_iter()
        .map(stock_view)
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = protocol::limit::next_cursor(&items, limit, |item| item.sku.clone());
    Ok(Json(StockPage { items, next_cursor }))
}

/// The operation id of the SKU's latest local change.
#[utoipa::path(get, path = "/v1/local/inventory/{sku}/operation_id", tag = "inventory", security(("bearer" = [])),
    params(("sku" = Sku, Path)),
    responses(
        responses::TokenErrors,
        (status = 200, body = LatestOperation),
        (status = 404, response = responses::SkuOrOperationNotFound),
        responses::ReadErrors,
    ))]
#[tracing::instrument(skip_all, fields(sku = %sku))]
pub async fn latest_operation(
    State(state): State<AppState>,
    client: LocalClient,
    Path(sku): Path<String>,
) -> Result<Json<LatestOperation>, ApiError> {
    client.require(READ)?;
    let row = stock_row(&state, &sku).await?;
    row.row
        .last_operation_id
        .map(|id| {
            Json(LatestOperation {
                operation_id: OperationId::from(id),
            })
        })
        .ok_or_else(|| {
            ApiError::not_found(
                "operation_not_found",
                format!("sku {sku} has no changes yet"),
            )
        })
}
