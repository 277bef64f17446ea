//! OpenAPI document and Swagger UI.

use axum::Router;
use service_infra::auth::BearerScheme;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use super::{events, health, inventory, sync, worker};

/// The store API's OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(title = "store-app", description = "One store's event-sourced inventory API."),
    paths(
        inventory::update, inventory::get_one, inventory::list, inventory::latest_operation,
        sync::status, sync::trigger, events::list,
        worker::pending, worker::record_outcomes, worker::record_failure,
        worker::checkpoint, worker::apply_central_changes, health::ready,
    ),
    components(schemas(service_infra::ErrorBody)),
    modifiers(&BearerScheme),
    tags(
        (name = "inventory", description = "Stock updates and reads"),
        (name = "sync", description = "Sync status and trigger"),
        (name = "events", description = "The store's event log"),
        (name = "worker", description = "Endpoints for the sync worker (role sync-worker)"),
    )
)]
pub struct ApiDoc;

/// `/docs` (Swagger UI) and `/openapi.json`.
pub fn router() -> Router {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}
