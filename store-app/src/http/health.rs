//! Readiness: the database is required; the broker and central are reported
//! but optional, since the store keeps taking updates without them; so is
//! `LOCAL_AUTH=off`, which operators should see.

use axum::extract::State;
use service_infra::health::Readiness;

use crate::config::LocalAuth;
use crate::state::AppState;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![ready]
}

/// `/health/ready`.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, body = Readiness, description = "Ready: the database answers (broker, central and whether the local API needs a token are reported)"),
        (status = 405, response = protocol::error::MethodNotAllowed),
        (status = 503, body = Readiness, description = "Not ready: the database does not answer"),
    ))]
pub async fn ready(State(state): State<AppState>) -> Readiness {
    let database = sqlx::query("SELECT 1")
        .execute(state.ledger.pool())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    let broker = if state.nudger.is_connected().await {
        Ok(())
    } else {
        Err("not connected".to_owned())
    };
    let central = state
        .http
        .get(format!(
            "{}/health/live",
            state.central_url.trim_end_matches('/')
        ))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map(|_| ())
        .map_err(|e| e.to_string());
    // Reported, never required: a store without the check still serves,
    // but its operators should see that it does.
    let local_auth = match state.local_auth {
        LocalAuth::Required => Ok(()),
        LocalAuth::Off => Err(
            "LOCAL_AUTH=off: the local API takes changes without a token (development only)"
                .to_owned(),
        ),
    };
    Readiness::from_checks(vec![
        ("database", true, database),
        ("broker", false, broker),
        ("central", false, central),
        ("local_auth", false, local_auth),
    ])
}
