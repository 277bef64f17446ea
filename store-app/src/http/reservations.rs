//! Holds for online orders at this store: `/v1/local/reservations`. Central
//! decides them; the store learns of them through the pull and records the
//! customer's pick-up as a sale of the held units.

use axum::extract::State;
use axum::response::Response;
use domain::reservation::{HoldStatus, ReservationId};
use domain::store::ChangeNote;
use domain::{ChangeKind, Delta};
use protocol::SyncState;
use protocol::error as responses;
use protocol::reservations::{LocalReservation, PickupResponse};
use serde_json::json;
use service_infra::{ApiError, Json, Path, database_error};

use super::error::{invalid, stored};
use super::inventory::created_or_replayed;
use super::local_auth::{LocalClient, READ, WRITE};
use crate::holds::{self, HoldCopy};
use crate::ledger::ChangeRequest;
use crate::service;
use crate::state::AppState;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![get_one, fulfil]
}

/// The hold in the path as this store knows it, or 422 (bad id) / 404
/// (central has not told this store of it).
async fn known_hold(state: &AppState, raw: &str) -> Result<(HoldCopy, LocalReservation), ApiError> {
    let id: ReservationId = raw.parse().map_err(|e| invalid("reservation_id", e))?;
    let copy = holds::one(state.ledger.pool(), id)
        .await
        .map_err(database_error)?
        .ok_or_else(|| {
            ApiError::not_found(
                "reservation_not_found",
                format!("this store has not heard of reservation {id} (yet)"),
            )
        })?;
    let view = LocalReservation {
        reservation_id: id,
        sku: stored(copy.sku.clone())?,
        quantity: copy.quantity,
        status: copy.status.parse().map_err(|e: domain::ValueError| {
            ApiError::internal(anyhow::anyhow!("stored hold status: {e}"))
        })?,
        expires_at: copy.expires_at,
        picked_up: copy.picked_up,
    };
    Ok((copy, view))
}

/// A hold on one of this store's SKUs.
#[utoipa::path(get, path = "/v1/local/reservations/{reservation_id}", tag = "reservations",
    params(("reservation_id" = ReservationId, Path)), security(("bearer" = [])),
    responses(
        responses::TokenErrors,
        (status = 200, body = LocalReservation),
        (status = 404, description = "`reservation_not_found`", body = protocol::ErrorBody),
        responses::ReadErrors,
    ))]
#[tracing::instrument(skip_all, fields(reservation = %id))]
pub async fn get_one(
    State(state): State<AppState>,
    client: LocalClient,
    Path(id): Path<String>,
) -> Result<Json<LocalReservation>, ApiError> {
    client.require(READ)?;
    Ok(Json(known_hold(&state, &id).await?.1))
}

/// Record the customer's pick-up: a sale of the held units that may take
/// them (another sale may not), synced like any change; central marks the
/// hold `fulfilled` once it applies it. Recording it again answers the
/// first pick-up.
#[utoipa::path(post, path = "/v1/local/reservations/{reservation_id}/fulfil", tag = "reservations",
    params(("reservation_id" = ReservationId, Path)), security(("bearer" = [])),
    responses(
        responses::TokenErrors,
        (status = 201, body = PickupResponse, description = "Picked up (or the first pick-up again, with `Idempotent-Replayed: true`)"),
        (status = 404, description = "`reservation_not_found`: central has not told this store of it", body = protocol::ErrorBody),
        (status = 409, description = "`reservation_not_held`: it was released, expired or short", body = protocol::ErrorBody),
        (status = 422, response = responses::ValidationOrStock),
        responses::ReadErrors,
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, reservation = %id))]
pub async fn fulfil(
    State(state): State<AppState>,
    client: LocalClient,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    client.require(WRITE)?;
    let (copy, hold) = known_hold(&state, &id).await?;
    if hold.status != HoldStatus::Held && !copy.picked_up {
        return Err(ApiError::conflict(
            "reservation_not_held",
            format!(
                "reservation {} is {}: nothing to pick up",
                hold.reservation_id, hold.status
            ),
        )
        .with_details(json!({ "status": hold.status })));
    }
    let request = ChangeRequest {
        sku: hold.sku.clone(),
        operation_id: hold.reservation_id.pickup(),
        kind: ChangeKind::Sale,
        delta: Delta::try_from(-hold.quantity).map_err(|e| invalid("quantity", e))?,
        expected_version: None,
        note: ChangeNote {
            reason: Some(format!("pick-up of reservation {}", hold.reservation_id)),
            client: client.client_id,
            reservation: Some(hold.reservation_id),
            ..ChangeNote::default()
        },
    };
    let change = service::record_change(&state, Ok(request)).await?;
    let body = PickupResponse {
        reservation_id: hold.reservation_id,
        operation_id: change.operation_id,
        kind: ChangeKind::Sale,
        delta: change.delta.get(),
        quantity: change.quantity,
        version: change.version,
        status: SyncState::Pending,
    };
    Ok(created_or_replayed(body, change.replayed))
}
