//! The OpenAPI document at `/openapi.json` and Swagger UI at `/docs`, with
//! the bearer scheme so the UI's Authorize button works.

use axum::Router;
use protocol::central::{ChangeResult, RefusalBody, RefusalOrError};
use protocol::error::ErrorResponses;
use service_infra::auth::BearerScheme;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use super::{auth, events, health, inventory, sync};

/// Central's API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "central-app",
        description = "Head office's inventory service: token issuer, versioned sync API and chain-wide stock. \
                       Get a token at /auth/token, then use Authorize with it."
    ),
    paths(
        auth::token, auth::jwks,
        sync::push_batch, sync::push_change,
        inventory::adjust, inventory::store_item, inventory::availability,
        events::list,
        service_infra::health::live, health::ready,
    ),
    // The schemas the single-change answers refer to (`ChangeAnswers`).
    components(schemas(ChangeResult, RefusalBody, RefusalOrError)),
    modifiers(&BearerScheme, &ErrorResponses),
    tags(
        (name = "auth", description = "OAuth2 client credentials and public keys"),
        (name = "sync", description = "Store changes pushed by the sync worker"),
        (name = "inventory", description = "Head-office changes and stock queries"),
        (name = "events", description = "Central's log in global order"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

/// `/docs` and `/openapi.json`.
pub fn router() -> Router {
    SwaggerUi::new("/docs")
        .url("/openapi.json", ApiDoc::openapi())
        .into()
}
