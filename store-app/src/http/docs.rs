//! OpenAPI document and Swagger UI.

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
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

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// `/docs` (Swagger UI) and `/openapi.json`.
pub fn router() -> Router {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}
