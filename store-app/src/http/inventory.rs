//! Stock updates and reads: `/v1/local/inventory/...`.

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::{Delta, OperationId, Sku};
use serde::{Deserialize, Serialize};
use service_infra::{ApiError, Json, Path, Query};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{database_error, invalid};
use crate::app::AppState;
use crate::ledger::{AcceptedChange, ChangeRequest};
use crate::projections::queries;
use crate::projections::rows::StockRow;

/// Header set on the answer to a repeated operation id.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Longest accepted `reason`.
const MAX_REASON_LEN: usize = 500;

/// A stock change. `delta` > 0 adds stock, < 0 removes or reserves it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateBody {
    /// Non-zero, |delta| <= 1,000,000.
    pub delta: i64,
    /// Compare-and-set: the version the client last saw.
    pub version: Option<i64>,
    /// Idempotency key; the store mints a UUIDv7 when absent.
    pub operation_id: Option<Uuid>,
    pub reason: Option<String>,
}

/// The accepted change and the figures right after it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UpdateResponse {
    pub operation_id: Uuid,
    pub sku: String,
    pub delta: i64,
    pub quantity: i64,
    pub version: i64,
    /// Sync status when the change was accepted: `pending`.
    pub status: String,
}

/// One SKU's stock.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StockView {
    pub sku: String,
    pub name: String,
    /// What the store may sell now: confirmed plus pending.
    pub quantity: i64,
    pub confirmed_quantity: i64,
    pub confirmed_version: i64,
    /// The version central will have once pending changes are applied.
    pub version: i64,
    pub pending_changes: i32,
    pub last_synced_at: Option<DateTime<Utc>>,
}

impl From<StockRow> for StockView {
    fn from(row: StockRow) -> Self {
        Self {
            sku: row.sku,
            name: row.name,
            quantity: row.quantity,
            confirmed_quantity: row.confirmed_quantity,
            confirmed_version: row.confirmed_version,
            version: row.version,
            pending_changes: row.pending_changes,
            last_synced_at: row.last_synced_at,
        }
    }
}

/// A page of SKUs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StockPage {
    pub items: Vec<StockView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Paging of the stock list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PageParams {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1..=500, default 100.
    pub limit: Option<i64>,
}

/// The latest local change of a SKU.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LatestOperation {
    pub operation_id: Uuid,
}

pub(super) fn parse_sku(raw: &str) -> Result<Sku, ApiError> {
    raw.parse().map_err(|e| invalid("sku", e))
}

pub(super) fn page_limit(limit: Option<i64>, default: i64, max: i64) -> Result<i64, ApiError> {
    match limit.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(n),
        n => Err(invalid(
            "limit",
            format!("limit must be between 1 and {max}, got {n}"),
        )),
    }
}

fn change_request(sku: Sku, body: UpdateBody) -> Result<ChangeRequest, ApiError> {
    let delta = Delta::try_from(body.delta).map_err(|e| invalid("delta", e))?;
    let expected_version = body
        .version
        .map(domain::values::parse_version)
        .transpose()
        .map_err(|e| invalid("version", e))?;
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.len() > MAX_REASON_LEN)
    {
        return Err(invalid(
            "reason",
            format!("reason is longer than {MAX_REASON_LEN} bytes"),
        ));
    }
    Ok(ChangeRequest {
        sku,
        operation_id: body
            .operation_id
            .map(OperationId::from)
            .unwrap_or_else(OperationId::new_v7),
        delta,
        expected_version,
        reason: body.reason,
    })
}

fn update_response(change: &AcceptedChange) -> UpdateResponse {
    UpdateResponse {
        operation_id: change.operation_id.as_uuid(),
        sku: change.sku.to_string(),
        delta: change.delta.get(),
        quantity: change.quantity,
        version: change.version,
        status: "pending".into(),
    }
}

/// Records a stock change at this store; it syncs to central in the
/// background. Repeating an `operation_id` with the same body answers with
/// the original result and `Idempotent-Replayed: true`.
#[utoipa::path(post, path = "/v1/local/inventory/{sku}/update", tag = "inventory",
    params(("sku" = String, Path, description = "e.g. ELEC-LAPTOP-001")),
    request_body = UpdateBody,
    responses(
        (status = 201, body = UpdateResponse, description = "Accepted (or replayed)"),
        (status = 400, body = service_infra::ErrorBody, description = "malformed_request"),
        (status = 404, body = service_infra::ErrorBody, description = "sku_not_found"),
        (status = 409, body = service_infra::ErrorBody, description = "version_conflict, operation_id_reused"),
        (status = 415, body = service_infra::ErrorBody, description = "unsupported_media_type"),
        (status = 422, body = service_infra::ErrorBody, description = "validation_failed, insufficient_stock"),
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, sku = %sku, operation_id))]
pub async fn update(
    State(state): State<AppState>,
    Path(sku): Path<String>,
    Json(body): Json<UpdateBody>,
) -> Result<Response, ApiError> {
    let result = record_change(&state, &sku, body).await;
    let counter = &state.metrics.changes;
    let change = match result {
        Ok(change) => change,
        Err(error) => {
            counter.with_label_values(&[error.code]).inc();
            return Err(error);
        }
    };
    let body = Json(update_response(&change));
    if change.replayed {
        counter.with_label_values(&["replayed"]).inc();
        let replayed = [(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"))];
        return Ok((StatusCode::CREATED, replayed, body).into_response());
    }
    counter.with_label_values(&["accepted"]).inc();
    tracing::info!(
        delta = change.delta.get(),
        quantity = change.quantity,
        version = change.version,
        "change accepted"
    );
    state.nudger.nudge(state.store_id.as_str());
    Ok((StatusCode::CREATED, body).into_response())
}

async fn record_change(
    state: &AppState,
    sku: &str,
    body: UpdateBody,
) -> Result<AcceptedChange, ApiError> {
    let request = change_request(parse_sku(sku)?, body)?;
    tracing::Span::current().record(
        "operation_id",
        tracing::field::display(request.operation_id),
    );
    Ok(state.ledger.change(&request).await?)
}

/// One SKU's stock at this store.
#[utoipa::path(get, path = "/v1/local/inventory/{sku}", tag = "inventory",
    params(("sku" = String, Path)),
    responses((status = 200, body = StockView), (status = 404, body = service_infra::ErrorBody)))]
#[tracing::instrument(skip_all, fields(sku = %sku))]
pub async fn get_one(
    State(state): State<AppState>,
    Path(sku): Path<String>,
) -> Result<Json<StockView>, ApiError> {
    let sku = parse_sku(&sku)?;
    queries::stock_item(state.ledger.pool(), sku.as_str())
        .await
        .map_err(database_error)?
        .map(|row| Json(row.into()))
        .ok_or_else(|| ApiError::not_found("sku_not_found", format!("sku {sku} is not registered")))
}

/// Every SKU at this store, in SKU order, with cursor paging.
#[utoipa::path(get, path = "/v1/local/inventory", tag = "inventory", params(PageParams),
    responses((status = 200, body = StockPage), (status = 422, body = service_infra::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<PageParams>,
) -> Result<Json<StockPage>, ApiError> {
    let limit = page_limit(params.limit, 100, 500)?;
    let rows = queries::stock_page(state.ledger.pool(), params.cursor.as_deref(), limit)
        .await
        .map_err(database_error)?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.sku.clone()))
        .flatten();
    Ok(Json(StockPage {
        items: rows.into_iter().map(StockView::from).collect(),
        next_cursor,
    }))
}

/// The operation id of the SKU's latest local change.
#[utoipa::path(get, path = "/v1/local/inventory/{sku}/operation_id", tag = "inventory",
    params(("sku" = String, Path)),
    responses((status = 200, body = LatestOperation),
              (status = 404, body = service_infra::ErrorBody, description = "sku_not_found, operation_not_found")))]
#[tracing::instrument(skip_all, fields(sku = %sku))]
pub async fn latest_operation(
    State(state): State<AppState>,
    Path(sku): Path<String>,
) -> Result<Json<LatestOperation>, ApiError> {
    let sku = parse_sku(&sku)?;
    let row = queries::stock_item(state.ledger.pool(), sku.as_str())
        .await
        .map_err(database_error)?
        .ok_or_else(|| {
            ApiError::not_found("sku_not_found", format!("sku {sku} is not registered"))
        })?;
    row.last_operation_id
        .map(|operation_id| Json(LatestOperation { operation_id }))
        .ok_or_else(|| {
            ApiError::not_found(
                "operation_not_found",
                format!("sku {sku} has no changes yet"),
            )
        })
}
