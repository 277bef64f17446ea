//! Reading an event table in a global order that never skips an event.
//!
//! Positions are assigned at insert, but transactions commit in any order: a
//! reader that saw position 11 may later find position 10 committed. Each
//! event therefore records its writing transaction (`tx_id`), and a page only
//! holds events of transactions that have all ended, ordered by
//! `(tx_id, position)`: nothing can appear behind a cursor once a page has
//! passed it.
//!
//! The horizon is the first transaction id not yet assigned when the read
//! starts; the read waits (briefly) until every transaction below it has
//! ended. So a reader sees every event committed before its request — a
//! nudge sent after a commit always finds its change — and a page never
//! holds back events because unrelated transactions keep starting.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, QueryBuilder};

pub use protocol::cursor::{InvalidCursor, LogCursor};

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
    pub metadata: serde_json::Value,
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

/// Which streams to read: all of them, or those matching every
/// `(column, value)` pair (column names come from code, never from input).
pub type Filters = [(&'static str, String)];

/// A page of the log.
#[derive(Debug)]
pub struct Page {
    pub events: Vec<StoredEvent>,
    /// Set when the page is full: more events may follow right away.
    pub next_cursor: Option<LogCursor>,
    /// False when the read gave up waiting for older transactions: events
    /// committed before the request may still be missing from this page
    /// (they follow it, nothing is skipped), so a reader that must see them
    /// reads again later.
    pub complete: bool,
}

/// How long a read waits for older transactions to end before it settles
/// for the events already visible.
const HORIZON_WAIT: Duration = Duration::from_secs(2);

/// The transaction id below which every transaction has ended: the first id
/// unassigned when called, once the transactions before it end (or, after
/// [`HORIZON_WAIT`], the oldest still running: then `false`).
async fn settled_horizon(pool: &PgPool) -> Result<(i64, bool), sqlx::Error> {
    let target: i64 =
        sqlx::query_scalar("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
            .fetch_one(pool)
            .await?;
    let deadline = Instant::now() + HORIZON_WAIT;
    loop {
        let oldest_running: i64 =
            sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                .fetch_one(pool)
                .await?;
        if oldest_running >= target {
            return Ok((target, true));
        }
        if Instant::now() >= deadline {
            tracing::info!(
                oldest_running,
                horizon = target,
                "older transactions still running after {HORIZON_WAIT:?}; this page may be incomplete"
            );
            return Ok((oldest_running, false));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Reads up to `limit` events after `after` from `events`.
pub async fn read_page(
    pool: &PgPool,
    after: LogCursor,
    limit: i64,
    filters: &Filters,
) -> Result<Page, sqlx::Error> {
    let (horizon, complete) = settled_horizon(pool).await?;
    let mut query: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT position, tx_id::text::bigint AS tx_id, aggregate_id, sequence, event_type,
                payload, metadata, recorded_at
           FROM events
          WHERE tx_id < ",
    );
    query.push_bind(horizon.to_string()).push("::xid8");
    query.push(" AND (tx_id, position) > (");
    query.push_bind(after.tx_id.to_string());
    query.push("::xid8, ");
    query.push_bind(after.position);
    query.push(")");
    for (column, value) in filters {
        query
            .push(format_args!(" AND {column} = "))
            .push_bind(value.clone());
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
        complete,
    })
}
