//! The store's HTTP API: the prototype's `/v1/local` paths, the worker's
//! `/v1/sync` paths, the event log, docs, health and metrics.

mod docs;
mod error;
mod events;
mod health;
mod inventory;
mod sync;
mod worker;

use axum::Router;
use axum::routing::{get, post};
use service_infra::{
    method_not_allowed_fallback, metrics_router, not_found_fallback, with_observability,
};

use crate::app::AppState;

/// All routes with their observability layers.
pub fn router(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    let api = Router::new()
        .route("/v1/local/inventory", get(inventory::list))
        .route("/v1/local/inventory/{sku}", get(inventory::get_one))
        .route("/v1/local/inventory/{sku}/update", post(inventory::update))
        .route(
            "/v1/local/inventory/{sku}/operation_id",
            get(inventory::latest_operation),
        )
        .route("/v1/local/sync/status/{operation_id}", get(sync::status))
        .route("/v1/local/sync/trigger", post(sync::trigger))
        .route("/v1/local/events", get(events::list))
        .route("/v1/sync/pending", get(worker::pending))
        .route("/v1/sync/outcomes", post(worker::record_outcomes))
        .route("/v1/sync/failures", post(worker::record_failure))
        .route("/v1/sync/checkpoint", get(worker::checkpoint))
        .route(
            "/v1/sync/central-changes",
            post(worker::apply_central_changes),
        )
        .route("/health/live", get(service_infra::health::live))
        .route("/health/ready", get(health::ready))
        .with_state(state)
        .merge(docs::router())
        .merge(metrics_router(metrics.registry.clone()))
        .fallback(not_found_fallback)
        .method_not_allowed_fallback(method_not_allowed_fallback);
    with_observability(api, metrics.http)
}
