//! Reading central's log in global order with a cursor: the shared reader
//! of `service_infra::event_log` (safe against transactions that commit out
//! of order), filtered by central's `store_id` and `sku` columns.

use chrono::{DateTime, Utc};
use domain::{Sku, StoreId};
use serde_json::Value;
pub use service_infra::event_log::LogCursor as Cursor;
use service_infra::event_log::{StoredEvent, read_page};
use sqlx::PgPool;

use crate::projections::transfers::TRANSFER_LOG;

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub store_id: Option<StoreId>,
    pub sku: Option<Sku>,
}

/// One event of central's log.
#[derive(Debug, Clone)]
pub struct LogEvent {
    pub position: i64,
    pub store_id: String,
    pub sku: String,
    pub sequence: i64,
    pub event_type: String,
    pub payload: Value,
    pub metadata: Value,
    pub recorded_at: DateTime<Utc>,
    /// Set for a hold's event: the reservation.
    pub reservation: Option<uuid::Uuid>,
    cursor: Cursor,
}

impl From<StoredEvent> for LogEvent {
    fn from(event: StoredEvent) -> Self {
        let cursor = event.cursor();
        // `<store>/<sku>` (a stock stream) or `<store>/<sku>/<reservation>`
        // (a hold); a transfer's stream is its id alone, in the transfer
        // part of the log.
        let mut parts = event.aggregate_id.splitn(3, '/');
        let (store_id, sku) = match (parts.next(), parts.next()) {
            (Some(store), Some(sku)) => (store.to_owned(), sku.to_owned()),
            _ => (TRANSFER_LOG.to_owned(), String::new()),
        };
        let reservation = parts.next().and_then(|id| id.parse().ok());
        Self {
            position: event.position,
            store_id,
            sku,
            sequence: event.sequence,
            event_type: event.event_type,
            payload: event.payload,
            metadata: event.metadata,
            recorded_at: event.recorded_at,
            reservation,
            cursor,
        }
    }
}

impl LogEvent {
    /// The cursor that continues after this event.
    pub fn cursor(&self) -> Cursor {
        self.cursor
    }
}

/// Up to `limit` events after `after` that match `filter`, in log order,
/// and whether the read saw every transaction committed before it (see
/// `service_infra::event_log::Page::complete`).
pub async fn read(
    pool: &PgPool,
    after: Cursor,
    filter: &LogFilter,
    limit: i64,
) -> Result<(Vec<LogEvent>, bool), sqlx::Error> {
    let mut filters = Vec::new();
    if let Some(store_id) = &filter.store_id {
        filters.push(("store_id", store_id.to_string()));
    }
    if let Some(sku) = &filter.sku {
        filters.push(("sku", sku.to_string()));
    }
    let page = read_page(pool, after, limit, &filters).await?;
    let events = page.events.into_iter().map(LogEvent::from).collect();
    Ok((events, page.complete))
}
