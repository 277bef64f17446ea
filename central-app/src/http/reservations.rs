//! Reservations at central: head office holds units at a store for an
//! online order, lets them go, and reads where holds stand.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Duration, SubsecRound, Utc};
use domain::StoreId;
use domain::reservation::{HoldOrder, ReservationId};
use protocol::error as responses;
use protocol::reservations::{HoldRequest, ReservationPage, ReservationQuery, ReservationView};
use service_infra::auth::{Bearer, Claims, Role};
use service_infra::{ApiError, Json, Path, Query, database_error};

use super::access::{ANY_ROLE, authorize, parse_field, store_scope};
use crate::projections::reservations::{self, HoldRow};
use crate::service;
use crate::state::AppState;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![place, release, get_one, list]
}

/// A stored row as its wire type; a row that does not parse is a 500.
pub(super) fn view(row: HoldRow) -> Result<ReservationView, ApiError> {
    let bad = |e: domain::ValueError| {
        ApiError::internal(anyhow::anyhow!("stored reservation is invalid: {e}"))
    };
    Ok(ReservationView {
        reservation_id: ReservationId::from(row.reservation_id),
        store_id: row.store_id.parse().map_err(bad)?,
        sku: row.sku.parse().map_err(bad)?,
        quantity: row.quantity,
        status: row.status.parse().map_err(bad)?,
        expires_at: row.expires_at,
        placed_at: row.placed_at,
        updated_at: row.updated_at,
        version: row.version,
    })
}

/// 404 unless the token may see the reservation (a store token: its own).
fn visible(claims: &Claims, row: Option<HoldRow>, id: ReservationId) -> Result<HoldRow, ApiError> {
    row.filter(|row| claims.may_access_store(&row.store_id))
        .ok_or_else(|| ApiError::not_found("reservation_not_found", format!("no reservation {id}")))
}

/// Hold units of a SKU at a store for a customer, against what is
/// available there now (quantity minus live holds); the hold lets go by
/// itself after `expires_in` seconds. Repeating a `reservation_id` with the
/// same SKU and quantity answers the hold as it stands.
#[utoipa::path(post, path = "/v1/stores/{store_id}/reservations", tag = "reservations",
    params(("store_id" = StoreId, Path)), request_body = HoldRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = ReservationView, description = "Held (or the same hold again)"),
        (status = 404, response = responses::SkuNotFound),
        (status = 409, description = "`reservation_id_reused`", body = protocol::ErrorBody),
        (status = 422, description = "`insufficient_available` (details: available, requested) or `validation_failed`", body = protocol::ErrorBody),
        responses::BodyErrors,
        responses::TokenErrors,
    ))]
#[tracing::instrument(name = "place_hold", skip_all, fields(store_id = %store_id))]
pub async fn place(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(store_id): Path<String>,
    Json(body): Json<HoldRequest>,
) -> Result<(StatusCode, Json<ReservationView>), ApiError> {
    let store_id: StoreId = parse_field("store_id", &store_id)?;
    authorize(&claims, &[Role::Admin], &store_id)?;
    let expires_in = Duration::seconds(body.expires_in.get());
    let order = HoldOrder {
        reservation_id: body.reservation_id.unwrap_or_else(ReservationId::new_v7),
        store_id,
        sku: body.sku,
        quantity: body.quantity.get(),
        expires_at: (Utc::now() + expires_in).trunc_subsecs(6),
    };
    let row = service::place_hold(&state, order, claims.sub).await?;
    Ok((StatusCode::CREATED, Json(view(row)?)))
}

/// Let a held reservation go: its units are available again.
#[utoipa::path(post, path = "/v1/reservations/{reservation_id}/release", tag = "reservations",
    params(("reservation_id" = ReservationId, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = ReservationView, description = "Released"),
        (status = 404, description = "`reservation_not_found`", body = protocol::ErrorBody),
        (status = 409, description = "`reservation_not_held`: it already ended", body = protocol::ErrorBody),
        responses::ReadErrors,
        responses::TokenErrors,
    ))]
#[tracing::instrument(name = "release_hold", skip_all, fields(reservation = %id))]
pub async fn release(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(id): Path<String>,
) -> Result<Json<ReservationView>, ApiError> {
    claims.require_role(&[Role::Admin])?;
    let id: ReservationId = parse_field("reservation_id", &id)?;
    let row = service::release_hold(&state, id, claims.sub).await?;
    Ok(Json(view(row)?))
}

/// One reservation as it stands.
#[utoipa::path(get, path = "/v1/reservations/{reservation_id}", tag = "reservations",
    params(("reservation_id" = ReservationId, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = ReservationView),
        (status = 404, description = "`reservation_not_found`", body = protocol::ErrorBody),
        responses::ReadErrors,
        responses::TokenErrors,
    ))]
#[tracing::instrument(name = "reservation", skip_all, fields(reservation = %id))]
pub async fn get_one(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(id): Path<String>,
) -> Result<Json<ReservationView>, ApiError> {
    claims.require_role(ANY_ROLE)?;
    let id: ReservationId = parse_field("reservation_id", &id)?;
    let row = reservations::one(state.ledger.pool(), id)
        .await
        .map_err(database_error)?;
    Ok(Json(view(visible(&claims, row, id)?)?))
}

/// Reservations, oldest first, of one store and in one status when asked;
/// a store token lists its own store's.
#[utoipa::path(get, path = "/v1/reservations", tag = "reservations", params(ReservationQuery),
    security(("bearer" = [])),
    responses((status = 200, body = ReservationPage), responses::ReadErrors, responses::TokenErrors))]
#[tracing::instrument(name = "reservations", skip_all)]
pub async fn list(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Query(query): Query<ReservationQuery>,
) -> Result<Json<ReservationPage>, ApiError> {
    claims.require_role(ANY_ROLE)?;
    let store_id = store_scope(&claims, query.store_id.as_ref())?;
    let limit = i64::from(query.limit.get());
    let status = query.status.map(|status| status.as_str());
    let after = query.cursor.map(|id| id.as_uuid());
    let rows = reservations::page(
        state.ledger.pool(),
        store_id.as_deref(),
        status,
        after,
        limit,
    )
    .await
    .map_err(database_error)?;
    let items = rows.into_iter().map(view).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = protocol::limit::next_cursor(&items, limit, |item| item.reservation_id);
    Ok(Json(ReservationPage { items, next_cursor }))
}
