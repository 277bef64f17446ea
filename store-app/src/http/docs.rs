//! The store API's OpenAPI description; `service_infra::app` serves it with
//! Swagger UI.

use utoipa::OpenApi;

use super::{changes, events, health, inventory, sync_status, worker_api};

/// The store API's OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(title = "store-app", description = "One store's event-sourced inventory API. \
        The local API (`/v1/local`) serves the store's tills; `/v1/sync` serves the sync worker \
        (bearer token of role sync-worker, issued by central)."),
    paths(
        inventory::update, inventory::get_one, inventory::list, inventory::latest_operation,
        sync_status::status, sync_status::trigger, changes::list, changes::reapply, changes::retry, events::list,
        worker_api::pending, worker_api::record_outcomes, worker_api::record_failure, worker_api::quarantine,
        worker_api::checkpoint, worker_api::apply_central_changes, health::ready,
    ),
    tags(
        (name = "inventory", description = "Stock updates and reads"),
        (name = "sync", description = "Sync status and trigger"),
        (name = "events", description = "The store's event log"),
        (name = "worker", description = "Endpoints for the sync worker (role sync-worker)"),
    )
)]
pub struct ApiDoc;
