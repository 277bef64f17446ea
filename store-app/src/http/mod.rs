//! The store's HTTP API and its router, one file per resource:
//!
//! - the local API for the store's tills (`/v1/local`): `inventory.rs`
//!   (stock updates and reads), `counts.rs` (physical counts), `transfers.rs`
//!   (shipping and receiving transfers), `reservations.rs` (holds and
//!   their pick-up), `sync_status.rs` (a change's sync status,
//!   the sync trigger), `changes.rs` (the conflict inbox), `events.rs` (the
//!   event log);
//! - the worker API (`/v1/sync`, role `sync-worker`): `worker_api.rs`;
//! - the store's own token endpoint and public keys (`/auth/token`,
//!   `/.well-known/jwks.json`, from `service_infra::auth::issuing`) and who
//!   may call the local API (`local_auth.rs`);
//! - `docs.rs` (OpenAPI, Swagger UI), `health.rs`, and `error.rs` (ledger
//!   errors as HTTP answers).

mod changes;
mod counts;
mod docs;
mod error;
mod events;
mod health;
mod inventory;
mod local_auth;
mod reservations;
mod sync_status;
mod transfers;
mod worker_api;

use axum::Router;
use utoipa::OpenApi;

use crate::state::AppState;
use docs::ApiDoc;

/// Every route: the local API's, the worker API's, readiness and the
/// store's own token endpoint (each resource file lists its own), then the
/// common ones of every app (`service_infra::app`).
pub fn router(state: AppState) -> Router {
    let local_api = inventory::routes()
        .merge(counts::routes())
        .merge(transfers::routes())
        .merge(reservations::routes())
        .merge(sync_status::routes())
        .merge(changes::routes())
        .merge(events::routes());
    let api = local_api
        .merge(worker_api::routes())
        .merge(health::routes())
        .merge(service_infra::auth::issuing::routes());
    let http = state.metrics.service.http.clone();
    service_infra::app::router(ApiDoc::openapi(), api, state, http)
}
