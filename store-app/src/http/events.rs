//! The store's event log in global order: `/v1/local/events`.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use service_infra::event_log::{LogCursor, StoredEvent, read_page};
use service_infra::{ApiError, Json, Query};
use utoipa::{IntoParams, ToSchema};

use super::error::{database_error, invalid};
use super::inventory::{page_limit, parse_sku};
use crate::app::AppState;

/// Which events to read.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EventParams {
    /// A `cursor`/`next_cursor` from an earlier page; from the start if absent.
    pub after: Option<String>,
    /// 1..=1000, default 100.
    pub limit: Option<i64>,
    /// Only this SKU's stream.
    pub sku: Option<String>,
}

/// One event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    pub position: i64,
    /// Resume reading after this event.
    pub cursor: String,
    pub sku: String,
    pub sequence: i64,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub recorded_at: DateTime<Utc>,
}

/// A page of events.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<EventView>,
    /// Set when more events may follow now.
    pub next_cursor: Option<String>,
}

impl From<StoredEvent> for EventView {
    fn from(event: StoredEvent) -> Self {
        Self {
            cursor: event.cursor().to_string(),
            position: event.position,
            sku: event.aggregate_id,
            sequence: event.sequence,
            event_type: event.event_type,
            payload: event.payload,
            recorded_at: event.recorded_at,
        }
    }
}

/// The store's events in global order, with cursor paging. Events of a
/// transaction appear only once every earlier transaction has ended, so a
/// reader following `next_cursor` never misses one.
#[utoipa::path(get, path = "/v1/local/events", tag = "events", params(EventParams),
    responses((status = 200, body = EventPage), (status = 422, body = service_infra::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<EventParams>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = page_limit(params.limit, 100, 1000)?;
    let after: Option<LogCursor> = params
        .after
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| invalid("after", e))?;
    let filters = match params.sku.as_deref() {
        Some(sku) => vec![("aggregate_id", parse_sku(sku)?.to_string())],
        None => Vec::new(),
    };
    let page = read_page(
        state.ledger.pool(),
        after.unwrap_or_default(),
        limit,
        &filters,
    )
    .await
    .map_err(database_error)?;
    Ok(Json(EventPage {
        events: page.events.into_iter().map(EventView::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    }))
}
