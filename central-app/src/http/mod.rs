//! Central's HTTP API: the router, the handlers (one module per resource)
//! and what they share: access checks, path validation, database error
//! mapping and the answer to a single change.

pub mod auth;
pub mod docs;
pub mod events;
pub mod health;
pub mod inventory;
pub mod status;
pub mod sync;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::state::AppState;
use docs::ApiDoc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::central::Outcome;
use domain::{Sku, StoreId, Version};
use protocol::central::{ChangeResult, RefusalBody};
use serde::Deserialize;
use serde_json::json;
use service_infra::auth::{Claims, Role};
use service_infra::{ApiError, Json, database_error};

use crate::ledger::{Change, Decision, LedgerError};
use crate::service;

/// Every role may read.
pub(crate) const ANY_ROLE: &[Role] = &[Role::SyncWorker, Role::Store, Role::Admin];

/// 403 unless the token has one of `roles` and may act for `store_id`.
pub(crate) fn authorize(
    claims: &Claims,
    roles: &[Role],
    store_id: &StoreId,
) -> Result<(), ApiError> {
    claims.require_role(roles)?;
    if claims.may_access_store(store_id.as_str()) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "this token may not act for store {store_id}"
        )))
    }
}

/// `{store_id}` and `{sku}` path segments, checked by the domain types.
#[derive(Debug, Deserialize)]
pub struct StoreSkuPath {
    store_id: String,
    sku: String,
}

impl StoreSkuPath {
    /// The validated pair, or 422 naming the bad segment.
    pub fn parse(self) -> Result<(StoreId, Sku), ApiError> {
        let store_id = parse_field("store_id", &self.store_id)?;
        let sku = parse_field("sku", &self.sku)?;
        Ok((store_id, sku))
    }
}

/// Parses a value with its domain type, or 422 naming `field`.
pub(crate) fn parse_field<T>(field: &str, value: &str) -> Result<T, ApiError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|err: T::Err| {
        ApiError::validation(
            format!("{field} is not valid"),
            json!({ "field": field, "reason": err.to_string() }),
        )
    })
}

/// A ledger failure as the client sees it.
pub(crate) fn ledger_error(error: LedgerError) -> ApiError {
    match error {
        LedgerError::Database(error) => database_error(error),
        LedgerError::Rejected(error) => ApiError::internal(error),
    }
}

/// Central's answer to one change, as the wire shows it.
pub(crate) fn change_result(decision: &Decision) -> ChangeResult {
    ChangeResult {
        operation_id: decision.operation_id,
        outcome: decision.outcome,
        version: decision.version,
        quantity: decision.quantity,
        replayed: decision.replayed,
    }
}

/// The HTTP answer to a single change: 200 when applied (or a replay of an
/// applied change); 409 `version_conflict`, `version_ahead` or
/// `operation_id_reused`; 422 `insufficient_stock`; 404 `sku_not_found`.
pub(crate) fn change_response(
    store_id: &StoreId,
    decision: &Decision,
    expected_version: Option<Version>,
) -> Response {
    let (status, message) = match decision.outcome {
        Outcome::Applied => return Json(change_result(decision)).into_response(),
        Outcome::VersionConflict => (
            StatusCode::CONFLICT,
            match (expected_version, decision.version) {
                (Some(expected), Some(version)) if expected == version => format!(
                    "expected version {expected} was reached through other changes; this change depends on one central refused"
                ),
                (expected, version) => format!(
                    "expected version {}, but central is at version {}",
                    show(expected),
                    show(version)
                ),
            },
        ),
        Outcome::VersionAhead => (
            StatusCode::CONFLICT,
            format!(
                "expected version {} is ahead of central's version {}: an earlier change has not arrived yet",
                show(expected_version),
                show(decision.version)
            ),
        ),
        Outcome::OperationIdReused => (
            StatusCode::CONFLICT,
            format!(
                "operation id {} was already used for a different change",
                decision.operation_id
            ),
        ),
        Outcome::InsufficientStock => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("insufficient stock: {} available", show(decision.quantity)),
        ),
        Outcome::SkuNotFound => (
            StatusCode::NOT_FOUND,
            format!(
                "sku {} is not registered for store {store_id}",
                decision.sku
            ),
        ),
    };
    let body = RefusalBody {
        code: decision.outcome,
        message,
        version: decision.version,
        quantity: decision.quantity,
        details: json!({
            "operation_id": decision.operation_id.to_string(),
            "version": decision.version,
            "quantity": decision.quantity,
            "expected_version": expected_version,
            "replayed": decision.replayed,
        }),
    };
    (status, Json(body)).into_response()
}

fn show(value: Option<i64>) -> String {
    value.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

/// Decides one change and answers it as HTTP (store changes and
/// head-office adjustments alike).
pub(crate) async fn answer_one(
    state: &AppState,
    store_id: &StoreId,
    change: &Change,
) -> Result<Response, ApiError> {
    let decision = service::decide_one(state, store_id, change)
        .await
        .map_err(ledger_error)?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no decision for a single change")))?;
    Ok(change_response(
        store_id,
        &decision,
        change.expected_version,
    ))
}

/// Every route: central's own, then the common ones of every app
/// (`service_infra::app`).
pub fn router(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    let api = Router::new()
        .route("/auth/token", post(auth::token))
        .route("/.well-known/jwks.json", get(auth::jwks))
        .route("/v1/sync/batch", post(sync::push_batch))
        .route(
            "/v1/stores/{store_id}/inventory/{sku}/changes",
            post(sync::push_change),
        )
        .route(
            "/v1/stores/{store_id}/inventory/{sku}/adjust",
            post(inventory::adjust),
        )
        .route(
            "/v1/stores/{store_id}/inventory/{sku}",
            get(inventory::store_item),
        )
        .route("/v1/inventory/{sku}", get(inventory::availability))
        .route("/v1/events", get(events::list))
        .route("/status", get(status::page))
        .route("/health/ready", get(health::ready))
        .with_state(state);
    service_infra::app::router(api, ApiDoc::openapi(), metrics.http)
}
