//! Central's HTTP API and its router, one file per resource (the token
//! endpoint and public keys come from `service_infra::auth::issuing`):
//! `sync.rs` (store changes pushed by the
//! worker), `inventory.rs` (head-office adjustments, stock queries),
//! `transfers.rs` (transfers between stores and the stores' transfer
//! feed), `reservations.rs` (holds for online orders), `alerts.rs`
//! (reorder points and what is low), `events.rs` (the log), `status.rs` (the HTML status page), `health.rs`,
//! `docs.rs` (OpenAPI, Swagger UI); what they share: `access.rs` (role and
//! store checks, path validation) and `error.rs` (ledger errors and change
//! decisions as HTTP answers).

mod access;
mod alerts;
mod docs;
mod error;
mod events;
mod health;
mod inventory;
mod reservations;
pub mod status;
mod sync;
mod transfers;

use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;

use crate::state::AppState;
use docs::ApiDoc;

/// Every route: central's own (each resource file lists its routes with
/// their API description; the HTML status page has none), then the common
/// ones of every app (`service_infra::app`).
pub fn router(state: AppState) -> Router {
    let http = state.metrics.service.http.clone();
    let api = service_infra::auth::issuing::routes()
        .merge(sync::routes())
        .merge(inventory::routes())
        .merge(transfers::routes())
        .merge(reservations::routes())
        .merge(alerts::routes())
        .merge(events::routes())
        .merge(health::routes())
        .route("/status", get(status::page));
    service_infra::app::router(ApiDoc::openapi(), api, state, http)
}
