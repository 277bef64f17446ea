//! Central's OpenAPI description; `service_infra::app` serves it with
//! Swagger UI. The paths come from the resource files (`routes()`).

use protocol::central::{ChangeResult, RefusalBody, RefusalOrError};
use utoipa::OpenApi;

/// Central's API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "central-app",
        description = "Head office's inventory service: token issuer, versioned sync API and chain-wide stock. \
                       Get a token at /auth/token, then use Authorize with it."
    ),
    // The schemas the single-change answers refer to (`ChangeAnswers`).
    components(schemas(ChangeResult, RefusalBody, RefusalOrError)),
    tags(
        (name = "auth", description = "OAuth2 client credentials and public keys"),
        (name = "sync", description = "Store changes pushed by the sync worker, and each store's transfer feed"),
        (name = "inventory", description = "Head-office changes and stock queries"),
        (name = "transfers", description = "Transfers between stores: requested and cancelled by head office, shipped and received by the stores"),
        (name = "reservations", description = "Holds for online orders: held at central, picked up at the store, released or expired"),
        (name = "alerts", description = "Reorder points and low stock; stock.low / stock.restored go out on the inventory.events exchange"),
        (name = "events", description = "Central's log in global order"),
    )
)]
pub struct ApiDoc;
