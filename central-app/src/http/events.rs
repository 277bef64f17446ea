//! Central's log over HTTP, in global order with cursor paging. The worker
//! reads a store's central-side changes from it (the typed `change` of each
//! `ChangeApplied` event, not the stored payload).

use axum::extract::State;
use domain::central::CentralEvent;
use std::collections::HashMap;

use protocol::central::{EventView, EventsPage, EventsQuery, LoggedChange, LoggedHold};
use protocol::error as responses;
use serde::Deserialize;
use service_infra::auth::{Bearer, Role};
use service_infra::{ApiError, Json, Query};
use uuid::Uuid;

use super::access::ANY_ROLE;
use crate::ledger::log::{self, LogEvent, LogFilter};
use crate::projections::reservations;
use crate::state::AppState;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;
use service_infra::database_error;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![list]
}

/// The change a logged event records, if it records one.
fn logged_change(event: &LogEvent) -> Result<Option<LoggedChange>, ApiError> {
    if event.event_type != "ChangeApplied" {
        return Ok(None);
    }
    let stored = CentralEvent::deserialize(&event.payload).map_err(|e| {
        ApiError::internal(anyhow::anyhow!(
            "unreadable ChangeApplied at position {}: {e}",
            event.position
        ))
    })?;
    Ok(match stored {
        CentralEvent::ChangeApplied {
            operation_id,
            delta,
            origin,
            version,
            quantity,
            ..
        } => Some(LoggedChange {
            operation_id,
            delta,
            origin,
            version,
            quantity,
        }),
        CentralEvent::ItemRegistered { .. } => None,
    })
}

/// The holds the page's hold events are about, as they stand now.
async fn logged_holds(
    state: &AppState,
    events: &[LogEvent],
) -> Result<HashMap<Uuid, LoggedHold>, ApiError> {
    let ids: Vec<Uuid> = events
        .iter()
        .filter_map(|event| event.reservation)
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = reservations::many(state.ledger.pool(), &ids)
        .await
        .map_err(database_error)?;
    rows.into_iter()
        .map(|row| {
            let hold = super::reservations::view(row)?;
            let logged = LoggedHold {
                reservation_id: hold.reservation_id,
                sku: hold.sku,
                quantity: hold.quantity,
                status: hold.status,
                expires_at: hold.expires_at,
                version: hold.version,
            };
            Ok((hold.reservation_id.as_uuid(), logged))
        })
        .collect()
}

fn event_view(event: LogEvent, holds: &HashMap<Uuid, LoggedHold>) -> Result<EventView, ApiError> {
    Ok(EventView {
        change: logged_change(&event)?,
        hold: event.reservation.and_then(|id| holds.get(&id).cloned()),
        position: event.position,
        cursor: event.cursor(),
        store_id: event.store_id,
        sku: event.sku,
        sequence: event.sequence,
        event_type: event.event_type,
        payload: event.payload,
        metadata: event.metadata,
        recorded_at: event.recorded_at,
    })
}

/// Read central's log.
#[utoipa::path(
    get, path = "/v1/events", tag = "events",
    params(EventsQuery),
    responses(
        (status = 200, body = EventsPage),
        responses::ReadErrors,
        responses::TokenErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(name = "list_events", skip_all, fields(store_id = ?query.store_id, after = ?query.after))]
pub async fn list(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Query(query): Query<EventsQuery>,
) -> Result<Json<EventsPage>, ApiError> {
    claims.require_role(ANY_ROLE)?;
    let filter = LogFilter {
        store_id: query.store_id,
        sku: query.sku,
    };
    if claims.role == Role::Store
        && !filter
            .store_id
            .as_ref()
            .is_some_and(|id| claims.may_access_store(id.as_str()))
    {
        return Err(ApiError::forbidden(
            "a store token may read only its own store's events; pass store_id",
        ));
    }
    let limit = i64::from(query.limit.get());
    let (events, complete) = log::read(state.ledger.pool(), query.after.cursor(), &filter, limit)
        .await
        .map_err(database_error)?;
    let next_cursor = protocol::limit::next_cursor(&events, limit, LogEvent::cursor);
    let holds = logged_holds(&state, &events).await?;
    Ok(Json(EventsPage {
        events: events
            .into_iter()
            .map(|event| event_view(event, &holds))
            .collect::<Result<_, _>>()?,
        next_cursor,
        complete,
    }))
}
