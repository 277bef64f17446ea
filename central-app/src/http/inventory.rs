//! Head-office changes to a store's stock, and the stock queries: one
//! store's SKU, and chain-wide availability of an SKU.

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use domain::central::Origin;
use domain::{ChangeKind, OperationId, Sku, StoreId};
use protocol::central::{
    AdjustRequest, Availability, ChangeAnswers, KindTotal, MovementReport, MovementsQuery,
    StoreAvailability, StoreItem,
};
use protocol::error as responses;
use service_infra::auth::{Bearer, Role};
use service_infra::{ApiError, Json, Path, Query};

use super::access::{ANY_ROLE, StoreSkuPath, authorize, parse_field};
use crate::ledger::Change;
use crate::projections::{movements, reservations, stock, transfers};
use crate::state::AppState;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;
use service_infra::database_error;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![adjust, store_item, availability, movements]
}

/// Change a store's stock at head office.
#[utoipa::path(
    post, path = "/v1/stores/{store_id}/inventory/{sku}/adjust", tag = "inventory",
    params(("store_id" = StoreId, Path), ("sku" = Sku, Path)),
    request_body = AdjustRequest,
    responses(ChangeAnswers, responses::BodyErrors, responses::TokenErrors),
    security(("bearer" = []))
)]
#[tracing::instrument(name = "adjust", skip_all, fields(store_id = %path.store_id, sku = %path.sku, operation_id))]
pub async fn adjust(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(path): Path<StoreSkuPath>,
    Json(body): Json<AdjustRequest>,
) -> Result<Response, ApiError> {
    let (store_id, sku) = path.parse()?;
    authorize(&claims, &[Role::Admin], &store_id)?;
    let operation_id = body.operation_id.unwrap_or_else(OperationId::new_v7);
    tracing::Span::current().record("operation_id", tracing::field::display(operation_id));
    let change = Change {
        operation_id,
        sku,
        kind: ChangeKind::Adjustment,
        delta: body.delta,
        expected_version: body.expected_version.map(protocol::StreamVersion::get),
        occurred_at: Utc::now(),
        origin: Origin::HeadOffice,
        reason: body.reason.map(protocol::Reason::into_inner),
        client: Some(claims.sub),
        transfer: None,
        reservation: None,
    };
    super::error::answer_one(&state, &store_id, &change).await
}

/// A store's SKU at central.
#[utoipa::path(
    get, path = "/v1/stores/{store_id}/inventory/{sku}", tag = "inventory",
    params(("store_id" = StoreId, Path), ("sku" = Sku, Path)),
    responses(
        (status = 200, body = StoreItem),
        (status = 404, response = responses::SkuNotFound),
        responses::ReadErrors,
        responses::TokenErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(name = "store_item", skip_all, fields(store_id = %path.store_id, sku = %path.sku))]
pub async fn store_item(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(path): Path<StoreSkuPath>,
) -> Result<Json<StoreItem>, ApiError> {
    let (store_id, sku) = path.parse()?;
    authorize(&claims, ANY_ROLE, &store_id)?;
    let row = stock::store_item(state.ledger.pool(), &store_id, &sku)
        .await
        .map_err(database_error)?
        .ok_or_else(|| {
            ApiError::not_found(
                "sku_not_found",
                format!("sku {sku} is not registered for store {store_id}"),
            )
        })?;
    let reserved = reservations::held(state.ledger.pool(), store_id.as_str(), sku.as_str())
        .await
        .map_err(database_error)?;
    Ok(Json(StoreItem {
        store_id,
        sku,
        name: row.name,
        quantity: row.quantity,
        version: row.version,
        reserved,
        available: row.quantity - reserved,
    }))
}

/// Chain-wide availability of an SKU: the total, each store's share, and
/// the units in transit between stores (shipped, not yet received).
#[utoipa::path(
    get, path = "/v1/inventory/{sku}", tag = "inventory",
    params(("sku" = Sku, Path)),
    responses(
        (status = 200, body = Availability, description = "Every store's share; a `store` token sees its own store only"),
        (status = 404, response = responses::SkuNotFound),
        responses::ReadErrors,
        responses::TokenErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(name = "availability", skip_all, fields(sku = %sku))]
pub async fn availability(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(sku): Path<String>,
) -> Result<Json<Availability>, ApiError> {
    claims.require_role(ANY_ROLE)?;
    let sku: Sku = parse_field("sku", &sku)?;
    let rows = stock::availability(state.ledger.pool(), &sku)
        .await
        .map_err(database_error)?;
    // A store token sees its own store only: other stores' figures are
    // theirs to share.
    let visible: Vec<_> = rows
        .into_iter()
        .filter(|row| claims.may_access_store(&row.store_id))
        .collect();
    let Some(first) = visible.first() else {
        return Err(ApiError::not_found(
            "sku_not_found",
            format!("no store this token may see carries sku {sku}"),
        ));
    };
    let name = first.name.clone();
    let stores = visible
        .into_iter()
        .map(|row| {
            Ok(StoreAvailability {
                store_id: parse_field("store_id", &row.store_id).map_err(|_| {
                    ApiError::internal(anyhow::anyhow!("stored store id is invalid"))
                })?,
                quantity: row.quantity,
                version: row.version,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    // A store token sees the transfers of its own store only.
    let own_store = claims
        .store_id
        .as_deref()
        .filter(|_| claims.role == Role::Store);
    let in_transit = transfers::in_transit(state.ledger.pool(), sku.as_str(), own_store)
        .await
        .map_err(database_error)?;
    Ok(Json(Availability {
        total_quantity: stores.iter().map(|store| store.quantity).sum(),
        in_transit,
        sku,
        name,
        stores,
    }))
}

/// An SKU's movements by kind over a window, from central's log: how much
/// was sold, received, returned, written off or adjusted (units and number
/// of changes), at one store or across the chain. The window is on when the
/// changes happened at their store (`from` inclusive, `to` exclusive; a `to`
/// before `from` is an empty window).
#[utoipa::path(get, path = "/v1/inventory/{sku}/movements", tag = "inventory",
    params(("sku" = Sku, Path), MovementsQuery), security(("bearer" = [])),
    responses((status = 200, body = MovementReport, description = "Totals by kind (none for an SKU that did not move)"),
        responses::ReadErrors, responses::TokenErrors))]
#[tracing::instrument(name = "movements", skip_all, fields(sku = %sku))]
pub async fn movements(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(sku): Path<String>,
    Query(query): Query<MovementsQuery>,
) -> Result<Json<MovementReport>, ApiError> {
    claims.require_role(ANY_ROLE)?;
    let sku: Sku = parse_field("sku", &sku)?;
    match &query.store_id {
        Some(store_id) => authorize(&claims, ANY_ROLE, store_id)?,
        None if claims.role == Role::Store => {
            return Err(ApiError::forbidden(
                "a store token reads its own store's movements: give store_id",
            ));
        }
        None => {}
    }
    let store = query.store_id.as_ref().map(StoreId::as_str);
    let (from, to) = (query.from.map(|t| t.0), query.to.map(|t| t.0));
    let rows = movements::by_kind(state.ledger.pool(), sku.as_str(), store, from, to)
        .await
        .map_err(database_error)?;
    let mut totals = rows
        .into_iter()
        .map(|(kind, units, changes)| {
            let kind: ChangeKind = kind
                .parse()
                .map_err(|e| ApiError::internal(anyhow::anyhow!("stored kind: {e}")))?;
            Ok(KindTotal {
                kind,
                units,
                changes,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    totals.sort_by_key(|total| ChangeKind::ALL.iter().position(|kind| *kind == total.kind));
    Ok(Json(MovementReport {
        net_units: totals.iter().map(|total| total.units).sum(),
        sku,
        store_id: query.store_id,
        movements: totals,
    }))
}
