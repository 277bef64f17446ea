//! How ledger errors and change decisions become HTTP responses: one place
//! for every status code central's change endpoints return.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::central::Outcome;
use domain::reservation::HoldError;
use domain::transfer::TransferError;
use domain::{StoreId, Version};
use protocol::central::{ChangeResult, RefusalBody};
use serde_json::json;
use service_infra::{ApiError, Json, database_error};

use crate::ledger::{Change, Decision, LedgerError};
use crate::service;
use crate::state::AppState;

impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Database(error) => database_error(error),
            LedgerError::Registration { .. } => ApiError::internal(error),
            LedgerError::Transfer(refusal) => transfer_refusal(refusal),
            LedgerError::Hold(refusal) => hold_refusal(refusal),
            LedgerError::NotCarried { .. } => {
                ApiError::not_found("sku_not_found", error.to_string())
            }
        }
    }
}

/// A refused transfer command: 404 for an unknown transfer, 409 for one in
/// the wrong state or a reused id, 422 for a request that cannot be.
fn transfer_refusal(refusal: TransferError) -> ApiError {
    let message = refusal.to_string();
    match refusal {
        TransferError::NotFound => ApiError::not_found("transfer_not_found", message),
        TransferError::IdReused => ApiError::conflict("transfer_id_reused", message),
        TransferError::WrongStatus { status, .. } => {
            ApiError::conflict("transfer_not_requested", message)
                .with_details(json!({ "status": status }))
        }
        TransferError::SameStore => ApiError::validation(message, json!({ "field": "to_store" })),
        TransferError::NonPositiveQuantity(_) | TransferError::WrongQuantity { .. } => {
            ApiError::validation(message, json!({ "field": "quantity" }))
        }
        TransferError::WrongStore { .. } => {
            ApiError::validation(message, json!({ "field": "store_id" }))
        }
        TransferError::WrongSku { .. } => ApiError::validation(message, json!({ "field": "sku" })),
    }
}

/// A refused hold command: 404 for an unknown reservation, 409 for one that
/// ended or a reused id, 422 when too little is available.
fn hold_refusal(refusal: HoldError) -> ApiError {
    let message = refusal.to_string();
    match refusal {
        HoldError::NotFound => ApiError::not_found("reservation_not_found", message),
        HoldError::IdReused => ApiError::conflict("reservation_id_reused", message),
        HoldError::NotHeld { status, .. } => ApiError::conflict("reservation_not_held", message)
            .with_details(json!({ "status": status })),
        HoldError::NotDue { expires_at } => ApiError::conflict("reservation_not_due", message)
            .with_details(json!({ "expires_at": expires_at })),
        HoldError::InsufficientAvailable {
            available,
            requested,
        } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "insufficient_available",
            message,
        )
        .with_details(json!({ "available": available, "requested": requested })),
        HoldError::NonPositiveQuantity(_) => {
            ApiError::validation(message, json!({ "field": "quantity" }))
        }
    }
}

/// Central's answer to one change, as the wire shows it.
pub(super) fn change_result(decision: &Decision) -> ChangeResult {
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
pub(super) fn change_response(
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
        Outcome::TransferRefused => (
            StatusCode::CONFLICT,
            "the transfer does not allow this step (cancelled, already taken, or not this store's)"
                .to_owned(),
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
pub(super) async fn answer_one(
    state: &AppState,
    store_id: &StoreId,
    change: &Change,
) -> Result<Response, ApiError> {
    let decision = service::decide_one(state, store_id, change)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no decision for a single change")))?;
    Ok(change_response(
        store_id,
        &decision,
        change.expected_version,
    ))
}
