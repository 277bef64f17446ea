//! Liveness and readiness bodies for `/health/live` and `/health/ready`.
//!
//! Ready means the process can do its job. Each dependency is reported; only
//! *required* ones make the process not ready (a store whose broker is down
//! keeps taking updates, so the broker is optional there).

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The state of one dependency.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DependencyStatus {
    /// Whether the check passed.
    pub ok: bool,
    /// Whether the process is not ready while this dependency is down.
    pub required: bool,
    /// Why the check failed; absent when it passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The body of `/health/ready`: 200 when ready, 503 otherwise.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `"ready"` or `"not_ready"`.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// Each dependency by name, such as `database` or `broker`.
    pub checks: BTreeMap<String, DependencyStatus>,
}

impl Readiness {
    /// Builds the report from `(name, required, outcome)` triples; not ready
    /// if any required check failed.
    pub fn from_checks(
        checks: impl IntoIterator<Item = (impl Into<String>, bool, Result<(), String>)>,
    ) -> Self {
        let checks: BTreeMap<String, DependencyStatus> = checks
            .into_iter()
            .map(|(name, required, outcome)| {
                let status = DependencyStatus {
                    ok: outcome.is_ok(),
                    required,
                    error: outcome.err(),
                };
                (name.into(), status)
            })
            .collect();
        let ready = checks.values().all(|check| check.ok || !check.required);
        Self {
            status: if ready { "ready" } else { "not_ready" },
            checks,
        }
    }

    /// Whether every required dependency is up.
    pub fn is_ready(&self) -> bool {
        self.status == "ready"
    }
}

impl IntoResponse for Readiness {
    fn into_response(self) -> Response {
        let status = if self.is_ready() {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (status, Json(self)).into_response()
    }
}

/// The body of `/health/live`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Liveness {
    /// Always `"live"`.
    #[schema(example = "live")]
    pub status: &'static str,
}

/// `/health/live`: the process is running and serving HTTP.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses(
        (status = 200, body = Liveness, description = "The process serves HTTP"),
        (status = 405, response = protocol::error::MethodNotAllowed),
    ))]
pub async fn live() -> Json<Liveness> {
    Json(Liveness { status: "live" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_optional_check_leaves_process_ready() {
        let readiness = Readiness::from_checks([
            ("database", true, Ok(())),
            ("broker", false, Err("connection refused".to_owned())),
        ]);
        assert!(readiness.is_ready());
        assert_eq!(readiness.into_response().status(), StatusCode::OK);
    }

    #[test]
    fn failed_required_check_makes_process_not_ready() {
        let readiness = Readiness::from_checks(vec![("database", true, Err("timeout".to_owned()))]);
        assert_eq!(readiness.status, "not_ready");
        assert_eq!(
            readiness.checks["database"].error.as_deref(),
            Some("timeout")
        );
        assert_eq!(
            readiness.into_response().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
