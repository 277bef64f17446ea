//! The store API's OpenAPI description; `service_infra::app` serves it with
//! Swagger UI. The paths come from the resource files (`routes()`).

use utoipa::OpenApi;

/// The store API's OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(title = "store-app", description = "One store's event-sourced inventory API. \
        The local API (`/v1/local`) serves the store's tills and staff with tokens this store issues \
        (/auth/token, roles pos, manager, viewer); `/v1/sync` serves the sync worker \
        (bearer token of role sync-worker, issued by central)."),
    tags(
        (name = "auth", description = "The store's own tokens for its tills and staff (OAuth2 client credentials) and public keys"),
        (name = "inventory", description = "Stock updates and reads"),
        (name = "transfers", description = "Transfers this store sends or receives: learned from central, shipped and received here"),
        (name = "reservations", description = "Holds for online orders at this store (decided at central) and their pick-up"),
        (name = "sync", description = "Sync status and trigger"),
        (name = "changes", description = "The conflict inbox: changes central refused or the worker quarantined"),
        (name = "events", description = "The store's event log"),
        (name = "worker", description = "Endpoints for the sync worker (role sync-worker)"),
    )
)]
pub struct ApiDoc;
