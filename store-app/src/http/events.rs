//! The store's event log in global order: `/v1/local/events`.

use axum::extract::State;
use protocol::error as responses;
use protocol::local::{EventPage, EventQuery, EventView};
use service_infra::event_log::{StoredEvent, read_page};
use service_infra::{ApiError, Json, Query};

use super::local_auth::{LocalClient, MANAGE};
use crate::state::AppState;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;
use service_infra::database_error;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![list]
}

fn event_view(event: StoredEvent) -> EventView {
    EventView {
        cursor: event.cursor(),
        position: event.position,
        sku: event.aggregate_id,
        sequence: event.sequence,
        event_type: event.event_type,
        payload: event.payload,
        recorded_at: event.recorded_at,
    }
}

/// The store's events in global order, with cursor paging. Events of a
/// transaction appear only once every earlier transaction has ended, so a
/// reader following `next_cursor` never misses one.
#[utoipa::path(get, path = "/v1/local/events", tag = "events", security(("bearer" = [])), params(EventQuery),
    responses(
        responses::TokenErrors,
        (status = 200, body = EventPage),
        responses::ReadErrors,
    ))]
#[tracing::instrument(skip_all)]
pub async fn list(
    State(state): State<AppState>,
    client: LocalClient,
    Query(query): Query<EventQuery>,
) -> Result<Json<EventPage>, ApiError> {
    client.require(MANAGE)?;
    let filters = match query.sku {
        Some(sku) => vec![("aggregate_id", sku.to_string())],
        None => Vec::new(),
    };
    let page = read_page(
        state.ledger.pool(),
        query.after.cursor(),
        i64::from(query.limit.get()),
        &filters,
    )
    .await
    .map_err(database_error)?;
    Ok(Json(EventPage {
        events: page.events.into_iter().map(event_view).collect(),
        next_cursor: page.next_cursor,
        complete: page.complete,
    }))
}
