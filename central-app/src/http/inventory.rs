//! Head-office changes to a store's stock, and the stock queries: one
//! store's SKU, and chain-wide availability of an SKU.

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use domain::central::Origin;
use domain::{Delta, OperationId, Sku};
use serde::{Deserialize, Serialize};
use serde_json::json;
use service_infra::auth::{Bearer, Role};
use service_infra::{ApiError, ErrorBody, Json, Path};
use utoipa::ToSchema;

use super::{
    ANY_ROLE, ChangeResult, RefusalBody, StoreSkuPath, authorize, db_error, parse_expected,
    parse_field,
};
use crate::app::AppState;
use crate::ledger::Change;
use crate::projections::stock;

/// Longest `reason` accepted.
const MAX_REASON: usize = 500;

/// A head-office change: a count correction, an online order reserved at a
/// store. It reaches the store through the worker.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AdjustRequest {
    #[schema(value_type = i64, example = -1)]
    pub delta: Delta,
    /// Compare-and-set: apply only at exactly this version.
    #[serde(default)]
    pub expected_version: Option<i64>,
    /// Makes the request safe to retry; a UUIDv7 is minted when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub operation_id: Option<OperationId>,
    /// Why, for the log (at most 500 characters).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A store's SKU as head office sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreItem {
    pub store_id: String,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub version: i64,
}

/// One store's share of an SKU's availability.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreAvailability {
    pub store_id: String,
    pub quantity: i64,
    pub version: i64,
}

/// Chain-wide availability of an SKU.
#[derive(Debug, Serialize, ToSchema)]
pub struct Availability {
    pub sku: String,
    pub name: String,
    pub total_quantity: i64,
    pub stores: Vec<StoreAvailability>,
}

/// Change a store's stock at head office.
#[utoipa::path(
    post, path = "/v1/stores/{store_id}/inventory/{sku}/adjust", tag = "inventory",
    params(("store_id" = String, Path, example = "STORE-001"), ("sku" = String, Path, example = "ELEC-LAPTOP-001")),
    request_body = AdjustRequest,
    responses(
        (status = 200, description = "Applied, or a replay of an applied change", body = ChangeResult),
        (status = 404, description = "sku_not_found", body = RefusalBody),
        (status = 409, description = "version_conflict, version_ahead or operation_id_reused", body = RefusalBody),
        (status = 422, description = "insufficient_stock or invalid input", body = RefusalBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ),
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
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON)
    {
        return Err(ApiError::validation(
            format!("reason must have at most {MAX_REASON} characters"),
            json!({ "field": "reason" }),
        ));
    }
    let operation_id = body.operation_id.unwrap_or_else(OperationId::new_v7);
    tracing::Span::current().record("operation_id", tracing::field::display(operation_id));
    let change = Change {
        operation_id,
        sku,
        delta: body.delta,
        expected_version: parse_expected("expected_version", body.expected_version)?,
        occurred_at: Utc::now(),
        origin: Origin::HeadOffice,
        reason: body.reason,
    };
    super::sync::single(&state, &store_id, change).await
}

/// A store's SKU at central.
#[utoipa::path(
    get, path = "/v1/stores/{store_id}/inventory/{sku}", tag = "inventory",
    params(("store_id" = String, Path, example = "STORE-001"), ("sku" = String, Path, example = "ELEC-LAPTOP-001")),
    responses(
        (status = 200, body = StoreItem),
        (status = 404, description = "sku_not_found", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
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
        .map_err(db_error)?
        .ok_or_else(|| {
            ApiError::not_found(
                "sku_not_found",
                format!("sku {sku} is not registered for store {store_id}"),
            )
        })?;
    Ok(Json(StoreItem {
        store_id: row.store_id,
        sku: row.sku,
        name: row.name,
        quantity: row.quantity,
        version: row.version,
    }))
}

/// Chain-wide availability of an SKU: the total and each store's share.
#[utoipa::path(
    get, path = "/v1/inventory/{sku}", tag = "inventory",
    params(("sku" = String, Path, example = "ELEC-LAPTOP-001")),
    responses(
        (status = 200, body = Availability),
        (status = 404, description = "sku_not_found", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
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
        .map_err(db_error)?;
    let Some(first) = rows.first() else {
        return Err(ApiError::not_found(
            "sku_not_found",
            format!("no store carries sku {sku}"),
        ));
    };
    Ok(Json(Availability {
        sku: sku.to_string(),
        name: first.name.clone(),
        total_quantity: rows.iter().map(|row| row.quantity).sum(),
        stores: rows
            .iter()
            .map(|row| StoreAvailability {
                store_id: row.store_id.clone(),
                quantity: row.quantity,
                version: row.version,
            })
            .collect(),
    }))
}
