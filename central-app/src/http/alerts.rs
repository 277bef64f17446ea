//! Reorder points and what is low now. The alerts themselves go out as
//! `stock.low` / `stock.restored` messages on the events exchange
//! ([`crate::outbox`]).

use axum::extract::State;
use protocol::error as responses;
use protocol::reservations::{
    AlertPage, AlertQuery, AlertView, ReorderPointRequest, ReorderPointView,
};
use service_infra::auth::{Bearer, Role};
use service_infra::{ApiError, Json, Path, Query, database_error};

use super::access::{ANY_ROLE, StoreSkuPath, authorize, store_scope};
use crate::alerts;
use crate::state::AppState;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![set_reorder_point, list]
}

/// Set a store's reorder point for a SKU: once available stock (quantity
/// minus live holds) falls to or below `level`, central publishes one
/// `stock.low` (routing key `stock.low.<store>.<sku>`), and one
/// `stock.restored` when it rises above again. A level at or above what is
/// available now makes the SKU low at once.
#[utoipa::path(put, path = "/v1/stores/{store_id}/inventory/{sku}/reorder-point", tag = "alerts",
    params(("store_id" = domain::StoreId, Path), ("sku" = domain::Sku, Path)),
    request_body = ReorderPointRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = ReorderPointView),
        (status = 404, response = responses::SkuNotFound),
        (status = 422, response = responses::ValidationFailed),
        responses::BodyErrors,
        responses::TokenErrors,
    ))]
#[tracing::instrument(name = "set_reorder_point", skip_all, fields(store_id = %path.store_id, sku = %path.sku))]
pub async fn set_reorder_point(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(path): Path<StoreSkuPath>,
    Json(body): Json<ReorderPointRequest>,
) -> Result<Json<ReorderPointView>, ApiError> {
    let (store_id, sku) = path.parse()?;
    authorize(&claims, &[Role::Admin], &store_id)?;
    let point = state
        .ledger
        .set_reorder_point(&store_id, &sku, body.level.get())
        .await?;
    Ok(Json(ReorderPointView {
        store_id,
        sku,
        level: point.level,
        available: point.available,
        low: point.low,
    }))
}

/// What is low now, by store and SKU; a store token sees its own store's.
#[utoipa::path(get, path = "/v1/alerts", tag = "alerts", params(AlertQuery), security(("bearer" = [])),
    responses((status = 200, body = AlertPage), responses::ReadErrors, responses::TokenErrors))]
#[tracing::instrument(name = "alerts", skip_all)]
pub async fn list(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Query(query): Query<AlertQuery>,
) -> Result<Json<AlertPage>, ApiError> {
    claims.require_role(ANY_ROLE)?;
    let store_id = store_scope(&claims, query.store_id.as_ref())?;
    let rows = alerts::low_now(state.ledger.pool(), store_id.as_deref())
        .await
        .map_err(database_error)?;
    let bad = |e: domain::ValueError| ApiError::internal(anyhow::anyhow!("stored alert: {e}"));
    let alerts = rows
        .into_iter()
        .map(|row| {
            Ok(AlertView {
                store_id: row.store_id.parse().map_err(bad)?,
                sku: row.sku.parse().map_err(bad)?,
                available: row.available,
                level: row.level,
                since: row.since,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(AlertPage { alerts }))
}
