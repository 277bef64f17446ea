//! The two steps both ledgers' one-transaction executors share
//! (docs/event-store.md): locking and loading streams, and running a
//! command on one.
//!
//! - [`lock_and_load`] locks the streams' snapshot rows `FOR UPDATE` in id
//!   order (so two transactions never deadlock) and brings each state up to
//!   date with any events after its snapshot: the lock and the state in one
//!   round trip. A stream without a snapshot row is not loaded.
//! - [`decide`] runs a command on a copy of a state, so a refused command
//!   changes nothing.

use std::collections::HashMap;

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use sqlx::PgConnection;

/// A stream's state under lock.
#[derive(Debug, Clone, Default)]
pub struct LockedStream<A> {
    /// The aggregate after every stored event.
    pub state: A,
    /// The stream's last stored sequence number.
    pub sequence: i64,
}

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    aggregate_id: String,
    last_sequence: i64,
    payload: serde_json::Value,
    later_events: Option<serde_json::Value>,
}

/// Locks and loads the streams of aggregate type `A` with these ids, inside
/// the caller's transaction. The result is keyed by aggregate id.
pub async fn lock_and_load<A: Aggregate>(
    conn: &mut PgConnection,
    aggregate_ids: &[String],
) -> Result<HashMap<String, LockedStream<A>>, sqlx::Error> {
    let rows: Vec<SnapshotRow> = sqlx::query_as(
        "SELECT s.aggregate_id, s.last_sequence, s.payload,
                (SELECT jsonb_agg(e.payload ORDER BY e.sequence) FROM events e
                  WHERE e.aggregate_type = s.aggregate_type AND e.aggregate_id = s.aggregate_id
                    AND e.sequence > s.last_sequence) AS later_events
           FROM snapshots s
          WHERE s.aggregate_type = $1 AND s.aggregate_id = ANY($2)
          ORDER BY s.aggregate_id
            FOR UPDATE OF s",
    )
    .bind(A::TYPE)
    .bind(aggregate_ids)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            let mut stream = LockedStream {
                state: serde_json::from_value::<A>(row.payload).map_err(decode_error)?,
                sequence: row.last_sequence,
            };
            let later: Vec<A::Event> = match row.later_events {
                Some(events) => serde_json::from_value(events).map_err(decode_error)?,
                None => Vec::new(),
            };
            for event in later {
                stream.sequence += 1;
                stream.state.apply(event);
            }
            Ok((row.aggregate_id, stream))
        })
        .collect()
}

/// Runs `command` on a copy of `state`: the state after it and the events
/// it produced, or the refusal (and `state` stays as it was).
pub async fn decide<A>(state: &A, command: A::Command) -> Result<(A, Vec<A::Event>), A::Error>
where
    A: Aggregate<Services = ()> + Clone,
{
    let mut draft = state.clone();
    let sink = EventSink::default();
    draft.handle(command, &(), &sink).await?;
    let events = sink.collect().await;
    Ok((draft, events))
}

fn decode_error(error: serde_json::Error) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(error))
}
