//! The JSON error body every HTTP endpoint returns, and [`ApiError`], the one
//! type handlers use to produce it.
//!
//! Each error carries a stable machine-readable `code`, a human `message` and
//! optional `details`. Internal errors are logged with their cause chain and
//! shown to the client only as a generic message naming the request id.

use std::fmt;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub use crate::extract::{Json, Path, Query};

/// An HTTP error response: status, stable code, human message, optional details.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status of the response.
    pub status: StatusCode,
    /// Stable, machine-readable error code (snake_case).
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Structured details, such as which field failed validation.
    pub details: Option<Value>,
    /// Seconds for the `Retry-After` header, if any.
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with the given status, code and message and no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// Attaches structured details to the body.
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Adds a `Retry-After: <secs>` header to the response.
    #[must_use]
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// 400 `malformed_request`: the request could not be parsed at all.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_request", message)
    }

    /// 415 `unsupported_media_type`: the body is not in a format we accept.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }

    /// 422 `validation_failed`: well-formed but unacceptable input.
    pub fn validation(message: impl Into<String>, details: Value) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        )
        .with_details(details)
    }

    /// 404 with a resource-specific code, such as `store_not_found`.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 409 with a conflict-specific code, such as `version_conflict`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 401 `unauthorized`, sent with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`: authenticated, but not allowed to do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 503 with a dependency-specific code and a `Retry-After` header.
    pub fn unavailable(
        code: &'static str,
        message: impl Into<String>,
        retry_after_secs: u64,
    ) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message).with_retry_after(retry_after_secs)
    }

    /// 500 `internal_error`. Logs `err` with its full cause chain; the client
    /// sees only a generic message naming the request id.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        let err = err.into();
        tracing::error!(error = %format_args!("{err:#}"), "internal error");
        let message = match crate::http::current_request_id() {
            Some(id) => format!("internal error; quote the request id {id} when reporting"),
            None => "internal error; quote the x-request-id response header when reporting".into(),
        };
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

pub use protocol::ErrorBody;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message,
            details: self.details,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A database failure as the client sees it: 503 `database_unavailable`
/// (with `Retry-After`) when the database is unreachable or busy, or a
/// write kept losing races after its retries; 500 otherwise.
pub fn database_error(error: sqlx::Error) -> ApiError {
    let unavailable = matches!(
        error,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
    ) || crate::db_retry::is_transient_conflict(&error);
    if unavailable {
        tracing::warn!(error = %error, "database unavailable");
        busy()
    } else {
        ApiError::internal(error)
    }
}

/// 503 `database_unavailable`: the database is down or too busy to take
/// the write now (retry after two seconds).
pub fn busy() -> ApiError {
    ApiError::unavailable(
        "database_unavailable",
        "the database is unavailable or busy; try again shortly",
        2,
    )
}

/// Router fallback: 404 `route_not_found` as a JSON error body.
pub async fn not_found_fallback() -> ApiError {
    ApiError::not_found("route_not_found", "no route matches this path")
}

/// Router fallback for a known path with another method: 405
/// `method_not_allowed` as a JSON error body.
pub async fn method_not_allowed_fallback() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not accept that method",
    )
}
