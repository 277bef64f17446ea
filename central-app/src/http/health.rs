//! Readiness: central can do its job when its database answers.

use std::time::Duration;

use axum::extract::State;
use service_infra::health::Readiness;

use crate::state::AppState;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![ready]
}

/// Longest wait for the database before calling it down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Report readiness: 200 when the database answers, 503 otherwise.
#[utoipa::path(
    get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, body = Readiness, description = "Ready: the database answers"),
        (status = 405, response = protocol::error::MethodNotAllowed),
        (status = 503, body = Readiness, description = "Not ready: the database does not answer"),
    )
)]
pub async fn ready(State(state): State<AppState>) -> Readiness {
    let database =
        match tokio::time::timeout(CHECK_TIMEOUT, service_infra::db::ping(state.ledger.pool()))
            .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
        };
    Readiness::from_checks([("database", true, database)])
}
