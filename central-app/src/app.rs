//! The application state handed to every handler, and the router.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use prometheus::Registry;
use service_infra::auth::TokenVerifier;
use service_infra::{
    HttpMetrics, method_not_allowed_fallback, metrics_router, not_found_fallback,
    with_observability,
};

use crate::auth::clients::Clients;
use crate::auth::tokens::TokenIssuer;
use crate::http;
use crate::ledger::Ledger;
use crate::metrics::CentralMetrics;
use crate::nudge::StoreNudger;

/// What handlers need. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub ledger: Ledger,
    pub clients: Clients,
    pub tokens: Arc<TokenIssuer>,
    pub verifier: TokenVerifier,
    pub metrics: CentralMetrics,
    pub nudger: Arc<dyn StoreNudger>,
}

impl FromRef<AppState> for TokenVerifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// Every route, wrapped in the request-id, tracing and metrics layers.
pub fn router(state: AppState, registry: Registry, http_metrics: HttpMetrics) -> Router {
    let api = Router::new()
        .route("/auth/token", post(http::auth::token))
        .route("/.well-known/jwks.json", get(http::auth::jwks))
        .route("/v1/sync/batch", post(http::sync::push_batch))
        .route(
            "/v1/stores/{store_id}/inventory/{sku}/changes",
            post(http::sync::push_change),
        )
        .route(
            "/v1/stores/{store_id}/inventory/{sku}/adjust",
            post(http::inventory::adjust),
        )
        .route(
            "/v1/stores/{store_id}/inventory/{sku}",
            get(http::inventory::store_item),
        )
        .route("/v1/inventory/{sku}", get(http::inventory::availability))
        .route("/v1/events", get(http::events::list))
        .route("/health/live", get(service_infra::health::live))
        .route("/health/ready", get(http::health::ready))
        .with_state(state);
    let router = api
        .merge(http::docs::router())
        .merge(metrics_router(registry))
        .fallback(not_found_fallback)
        .method_not_allowed_fallback(method_not_allowed_fallback);
    with_observability(router, http_metrics)
}
