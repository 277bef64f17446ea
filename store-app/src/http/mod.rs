//! The store's HTTP API and its router, one file per resource:
//!
//! - the local API for the store's tills (`/v1/local`): `inventory.rs`
//!   (stock updates and reads), `sync_status.rs` (a change's sync status,
//!   the sync trigger), `changes.rs` (the conflict inbox), `events.rs` (the
//!   event log);
//! - the worker API (`/v1/sync`, role `sync-worker`): `worker_api.rs`;
//! - `docs.rs` (OpenAPI, Swagger UI), `health.rs`, and `error.rs` (ledger
//!   errors as HTTP answers).

mod changes;
mod docs;
mod error;
mod events;
mod health;
mod inventory;
mod sync_status;
mod worker_api;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::state::AppState;
use docs::ApiDoc;

/// Every route: the store's own, then the common ones of every app
/// (`service_infra::app`).
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
        .route(
            "/v1/local/sync/status/{operation_id}",
            get(sync_status::status),
        )
        .route("/v1/local/sync/trigger", post(sync_status::trigger))
        .route("/v1/local/changes", get(changes::list))
        .route(
            "/v1/local/changes/{operation_id}/reapply",
            post(changes::reapply),
        )
        .route(
            "/v1/local/changes/{operation_id}/retry",
            post(changes::retry),
        )
        .route("/v1/local/events", get(events::list))
        .route("/v1/sync/pending", get(worker_api::pending))
        .route("/v1/sync/outcomes", post(worker_api::record_outcomes))
        .route("/v1/sync/failures", post(worker_api::record_failure))
        .route("/v1/sync/quarantine", post(worker_api::quarantine))
        .route("/v1/sync/checkpoint", get(worker_api::checkpoint))
        .route(
            "/v1/sync/central-changes",
            post(worker_api::apply_central_changes),
        )
        .route("/health/ready", get(health::ready))
        .with_state(state);
    service_infra::app::router(api, ApiDoc::openapi(), metrics.http)
}
