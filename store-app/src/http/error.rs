//! How ledger errors become HTTP responses: one place for every status code
//! the store's API returns.

use domain::store::StockError;
use serde_json::json;
use service_infra::{ApiError, database_error};

use crate::ledger::LedgerError;

impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Stock(stock) => stock.into_api_error(),
            LedgerError::OperationIdReused(id) => ApiError::conflict(
                "operation_id_reused",
                format!("operation id {id} was already used for a different change"),
            )
            .with_details(json!({ "operation_id": id })),
            LedgerError::ChangeNotFound(id) => ApiError::not_found(
                "operation_not_found",
                format!("no change with operation id {id}"),
            ),
            LedgerError::NotRejected { ref status, .. } => {
                let details = json!({ "status": status });
                ApiError::conflict("not_rejected", error.to_string()).with_details(details)
            }
            LedgerError::NotQuarantined { ref status, .. } => {
                let details = json!({ "status": status });
                ApiError::conflict("not_quarantined", error.to_string()).with_details(details)
            }
            LedgerError::Moved(_) => service_infra::busy(),
            LedgerError::Database(db) => database_error(db),
        }
    }
}

trait IntoApiError {
    fn into_api_error(self) -> ApiError;
}

impl IntoApiError for StockError {
    fn into_api_error(self) -> ApiError {
        let message = self.to_string();
        match self {
            StockError::SkuNotFound => ApiError::not_found("sku_not_found", message),
            StockError::VersionConflict {
                expected,
                current,
                quantity,
            } => ApiError::conflict("version_conflict", message).with_details(json!({
                "expected_version": expected,
                "current_version": current,
                "quantity": quantity,
            })),
            StockError::InsufficientStock {
                available,
                requested,
            } => ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "insufficient_stock",
                message,
            )
            .with_details(json!({ "available": available, "delta": requested })),
            StockError::InsufficientAvailable {
                available,
                requested,
            } => ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "insufficient_available",
                message,
            )
            .with_details(json!({ "available": available, "delta": requested })),
            StockError::NegativeInitialQuantity(_) => {
                ApiError::validation(message, json!({ "field": "quantity" }))
            }
            StockError::SignDoesNotFitKind { kind, delta } => ApiError::validation(
                message,
                json!({ "field": "delta", "kind": kind, "delta": delta, "sign": kind.sign() }),
            ),
            StockError::NegativeCount(_) => {
                ApiError::validation(message, json!({ "field": "counted" }))
            }
            StockError::CountTooFar { difference, .. } => ApiError::validation(
                message,
                json!({ "field": "counted", "difference": difference }),
            ),
        }
    }
}

/// A value read back from the store's own tables as its wire type; a value
/// that does not fit means the tables were changed by hand: a 500.
pub fn stored<T, R>(raw: R) -> Result<T, ApiError>
where
    T: TryFrom<R>,
    T::Error: std::fmt::Display,
{
    T::try_from(raw)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("stored value is invalid: {e}")))
}

/// A 422 for a value that failed domain validation.
pub fn invalid(field: &str, error: impl std::fmt::Display) -> ApiError {
    ApiError::validation(error.to_string(), json!({ "field": field }))
}
