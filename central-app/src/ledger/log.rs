//! Reading central's log in global order with a cursor, safe against
//! transactions that commit out of order: only events of transactions older
//! than every running one are returned, ordered by (transaction, position),
//! so a reader that saw position N never misses an event committed later
//! with a smaller one.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use domain::{Sku, StoreId};
use serde_json::Value;
use sqlx::{PgPool, Postgres, QueryBuilder};

/// A place in the log: after the event of transaction `tx` at `position`.
/// Written `"<tx>-<position>"`; `"0-0"` is the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    tx: u64,
    position: i64,
}

/// Returned for a cursor that is not `"<tx>-<position>"`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cursor must look like \"<tx>-<position>\", as returned in `cursor` or `next_cursor`")]
pub struct BadCursor;

impl FromStr for Cursor {
    type Err = BadCursor;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let (tx, position) = value.split_once('-').ok_or(BadCursor)?;
        let tx = tx.parse().map_err(|_| BadCursor)?;
        let position: i64 = position.parse().map_err(|_| BadCursor)?;
        if position < 0 {
            return Err(BadCursor);
        }
        Ok(Self { tx, position })
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.tx, self.position)
    }
}

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub store_id: Option<StoreId>,
    pub sku: Option<Sku>,
}

/// One event of central's log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LogEvent {
    pub position: i64,
    #[sqlx(try_from = "String")]
    pub tx: TxId,
    pub store_id: String,
    pub sku: String,
    pub sequence: i64,
    pub event_type: String,
    pub payload: Value,
    pub metadata: Value,
    pub recorded_at: DateTime<Utc>,
}

/// A transaction id (`xid8`) read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxId(u64);

impl TryFrom<String> for TxId {
    type Error = std::num::ParseIntError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse().map(Self)
    }
}

impl LogEvent {
    /// The cursor that continues after this event.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            tx: self.tx.0,
            position: self.position,
        }
    }
}

/// Up to `limit` events after `after` that match `filter`, in log order.
pub async fn read(
    pool: &PgPool,
    after: Cursor,
    filter: &LogFilter,
    limit: i64,
) -> Result<Vec<LogEvent>, sqlx::Error> {
    let mut query: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT position, tx_id::text AS tx, store_id, sku, sequence, event_type, payload,
                metadata, recorded_at
           FROM events
          WHERE (tx_id, position) > (",
    );
    query
        .push_bind(after.tx.to_string())
        .push("::xid8, ")
        .push_bind(after.position)
        .push(") AND tx_id < pg_snapshot_xmin(pg_current_snapshot())");
    if let Some(store_id) = &filter.store_id {
        query.push(" AND store_id = ").push_bind(store_id.as_str());
    }
    if let Some(sku) = &filter.sku {
        query.push(" AND sku = ").push_bind(sku.as_str());
    }
    query
        .push(" ORDER BY tx_id, position LIMIT ")
        .push_bind(limit);
    query.build_query_as().fetch_all(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_through_text() {
        let cursor: Cursor = "812-44".parse().expect("valid cursor");
        assert_eq!(cursor.to_string(), "812-44");
        assert_eq!("0-0".parse::<Cursor>().ok(), Some(Cursor::default()));
    }

    #[test]
    fn malformed_cursors_are_refused() {
        for bad in ["", "12", "a-1", "1-b", "1--2", "-1-2", "1-2-3"] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad:?} accepted");
        }
    }
}
