//! Physical counts: `POST /v1/local/inventory/{sku}/count`.

use axum::extract::State;
use axum::response::Response;
use domain::store::ChangeNote;
use domain::{ChangeKind, OperationId, Sku};
use protocol::error as responses;
use protocol::local::{CountRequest, CountResponse, CountStatus};
use service_infra::api_routes;
use service_infra::app::ApiRoutes;
use service_infra::{ApiError, Json, Path};

use super::inventory::{created_or_replayed, parse_sku};
use super::local_auth::{LocalClient, WRITE};
use crate::ledger::{self, AcceptedCount};
use crate::service;
use crate::state::AppState;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![count]
}

fn count_request(sku: Sku, body: CountRequest, client: Option<String>) -> ledger::CountRequest {
    ledger::CountRequest {
        sku,
        operation_id: body.operation_id.unwrap_or_else(OperationId::new_v7),
        counted: body.counted.get(),
        expected_version: body.version.map(protocol::StreamVersion::get),
        note: ChangeNote {
            reason: body.reason.map(protocol::Reason::into_inner),
            client,
            ..ChangeNote::default()
        },
    }
}

fn count_response(count: &AcceptedCount) -> CountResponse {
    CountResponse {
        operation_id: count.operation_id,
        sku: count.sku.clone(),
        kind: ChangeKind::Count,
        counted: count.counted,
        delta: count.delta,
        quantity: count.quantity,
        version: count.version,
        status: if count.delta == 0 {
            CountStatus::Recorded
        } else {
            CountStatus::Pending
        },
    }
}

/// Records a physical count: the shelf holds `counted`. The difference
/// from the store's quantity becomes a change of kind `count` that syncs to
/// central like any change (`status: pending`); a count that matches is
/// recorded with nothing to sync (`status: recorded`). Either way the SKU's
/// `last_counted_at` moves. Repeating an `operation_id` with the same body
/// answers with the original result and `Idempotent-Replayed: true`.
#[utoipa::path(post, path = "/v1/local/inventory/{sku}/count", tag = "inventory", security(("bearer" = [])),
    params(("sku" = Sku, Path)),
    request_body = CountRequest,
    responses(
        responses::TokenErrors,
        (status = 201, body = CountResponse, description = "Recorded (or replayed, with `Idempotent-Replayed: true`)"),
        (status = 404, response = responses::SkuNotFound),
        (status = 409, response = responses::Conflict),
        (status = 422, response = responses::ValidationFailed),
        responses::BodyErrors,
    ))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, sku = %sku, client = ?client.client_id))]
pub async fn count(
    State(state): State<AppState>,
    client: LocalClient,
    Path(sku): Path<String>,
    body: Result<Json<CountRequest>, ApiError>,
) -> Result<Response, ApiError> {
    client.require(WRITE)?;
    let client_id = client.client_id;
    let request = body.and_then(|Json(body)| Ok(count_request(parse_sku(&sku)?, body, client_id)));
    let count = service::record_count(&state, request).await?;
    Ok(created_or_replayed(count_response(&count), count.replayed))
}
