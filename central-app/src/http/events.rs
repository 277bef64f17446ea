//! Central's log over HTTP, in global order with cursor paging. The worker
//! reads a store's central-side changes from it.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use service_infra::auth::{Bearer, Role};
use service_infra::{ApiError, ErrorBody, Json, Query};
use utoipa::{IntoParams, ToSchema};

use super::{ANY_ROLE, db_error, parse_field};
use crate::app::AppState;
use crate::ledger::log::{self, Cursor, LogEvent, LogFilter};

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

/// Which page of the log to read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Continue after this cursor (`cursor` of an event, or `next_cursor`);
    /// from the start when absent or empty.
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<i64>,
    /// Only this store's events (required for a store token).
    pub store_id: Option<String>,
    /// Only this SKU's events.
    pub sku: Option<String>,
}

/// One event of central's log.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Insertion number; unique, but commit order is given by `cursor`.
    pub position: i64,
    /// Pass as `after` to continue after this event.
    pub cursor: String,
    pub store_id: String,
    pub sku: String,
    /// The event's number in its (store, SKU) stream.
    pub sequence: i64,
    #[schema(example = "ChangeApplied")]
    pub event_type: String,
    /// The event as stored (`{"ChangeApplied": {...}}`).
    pub payload: Value,
    /// Extra facts such as a head-office change's `reason`.
    pub metadata: Value,
    pub recorded_at: DateTime<Utc>,
}

/// A page of the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsPage {
    pub events: Vec<EventView>,
    /// Set when the page is full: pass it as `after` for the next page.
    pub next_cursor: Option<String>,
}

impl From<LogEvent> for EventView {
    fn from(event: LogEvent) -> Self {
        Self {
            position: event.position,
            cursor: event.cursor().to_string(),
            store_id: event.store_id,
            sku: event.sku,
            sequence: event.sequence,
            event_type: event.event_type,
            payload: event.payload,
            metadata: event.metadata,
            recorded_at: event.recorded_at,
        }
    }
}

/// Read central's log.
#[utoipa::path(
    get, path = "/v1/events", tag = "events",
    params(EventsQuery),
    responses(
        (status = 200, body = EventsPage),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
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
    let after: Cursor = match query.after.as_deref() {
        Some(after) if !after.is_empty() => parse_field("after", after)?,
        _ => Cursor::default(),
    };
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::validation(
            format!("limit must be between 1 and {MAX_LIMIT}"),
            json!({ "field": "limit", "reason": format!("got {limit}") }),
        ));
    }
    let filter = LogFilter {
        store_id: query
            .store_id
            .as_deref()
            .map(|id| parse_field("store_id", id))
            .transpose()?,
        sku: query
            .sku
            .as_deref()
            .map(|sku| parse_field("sku", sku))
            .transpose()?,
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
    let events = log::read(state.ledger.pool(), after, &filter, limit)
        .await
        .map_err(db_error)?;
    let full = i64::try_from(events.len()).is_ok_and(|n| n == limit);
    let next_cursor = full
        .then(|| events.last().map(|event| event.cursor().to_string()))
        .flatten();
    Ok(Json(EventsPage {
        events: events.into_iter().map(EventView::from).collect(),
        next_cursor,
    }))
}
