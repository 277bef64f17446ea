//! Reading an event table in a global order that never skips an event.
//!
//! Positions are assigned at insert, but transactions commit in any order: a
//! reader that saw position 11 may later find position 10 committed. Each
//! event therefore records its writing transaction (`tx_id`), and a page only
//! holds events of transactions older than every transaction still running
//! (`pg_snapshot_xmin`). Ordered by `(tx_id, position)`, nothing can appear
//! behind a cursor once a page has passed it. Events of a transaction that is
//! still open show up as soon as it ends; keep write transactions short.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, QueryBuilder};

/// Where a reader stands in the log: after this event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogCursor {
    tx_id: u64,
    position: i64,
}

/// A cursor string that is not one we issued.
#[derive(Debug, thiserror::Error)]
#[error("invalid cursor {0:?}: use the next_cursor or cursor value of an earlier page")]
pub struct InvalidCursor(pub String);

impl FromStr for LogCursor {
    type Err = InvalidCursor;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidCursor(value.to_owned());
        let (tx, position) = value.split_once('-').ok_or_else(invalid)?;
        Ok(Self {
            tx_id: tx.parse().map_err(|_| invalid())?,
            position: position.parse().map_err(|_| invalid())?,
        })
    }
}

impl fmt::Display for LogCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.tx_id, self.position)
    }
}

/// One event as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StoredEvent {
    pub position: i64,
    #[serde(skip)]
    pub tx_id: i64,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub recorded_at: DateTime<Utc>,
}

impl StoredEvent {
    /// The cursor that resumes reading right after this event.
    pub fn cursor(&self) -> LogCursor {
        LogCursor {
            tx_id: self.tx_id as u64,
            position: self.position,
        }
    }
}

/// Which streams to read: all of them, one, or those whose id starts or ends
/// with a given text (central's `STORE/SKU` ids).
#[derive(Debug, Clone)]
pub enum StreamFilter {
    All,
    Exact(String),
    Prefix(String),
    Suffix(String),
}

/// A page of the log.
#[derive(Debug)]
pub struct Page {
    pub events: Vec<StoredEvent>,
    /// Set when the page is full: more events may follow right away.
    pub next_cursor: Option<LogCursor>,
}

/// Reads up to `limit` events after `after` from `events`.
pub async fn read_page(
    pool: &PgPool,
    after: Option<LogCursor>,
    limit: i64,
    filter: &StreamFilter,
) -> Result<Page, sqlx::Error> {
    let after = after.unwrap_or(LogCursor {
        tx_id: 0,
        position: 0,
    });
    let mut query: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT position, tx_id::text::bigint AS tx_id, aggregate_id, sequence, event_type,
                payload, recorded_at
           FROM events
          WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())
            AND (tx_id, position) > (",
    );
    query.push_bind(after.tx_id.to_string());
    query.push("::xid8, ");
    query.push_bind(after.position);
    query.push(")");
    match filter {
        StreamFilter::All => {}
        StreamFilter::Exact(id) => {
            query.push(" AND aggregate_id = ").push_bind(id.clone());
        }
        StreamFilter::Prefix(prefix) => {
            query
                .push(" AND aggregate_id LIKE ")
                .push_bind(format!("{}%", escape_like(prefix)));
        }
        StreamFilter::Suffix(suffix) => {
            query
                .push(" AND aggregate_id LIKE ")
                .push_bind(format!("%{}", escape_like(suffix)));
        }
    }
    query
        .push(" ORDER BY tx_id, position LIMIT ")
        .push_bind(limit);
    let events: Vec<StoredEvent> = query.build_query_as().fetch_all(pool).await?;
    let next_cursor = (events.len() as i64 == limit)
        .then(|| events.last().map(StoredEvent::cursor))
        .flatten();
    Ok(Page {
        events,
        next_cursor,
    })
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_through_text() {
        let cursor: LogCursor = "812-40".parse().expect("valid cursor");
        assert_eq!(cursor.to_string(), "812-40");
        assert!("812".parse::<LogCursor>().is_err());
        assert!("a-1".parse::<LogCursor>().is_err());
    }
}
