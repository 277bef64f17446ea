//! The one-transaction executor both ledgers run on
//! (docs/event-store.md): lock and load the streams a command touches,
//! decide in memory, then append events and snapshots with the app's
//! projections in one statement, and commit.
//!
//! - [`StreamSet`] holds the streams of one transaction: loaded by
//!   [`StreamSet::lock_and_load`], changed by [`StreamSet::execute`], and
//!   handed to the app's write step by [`StreamSet::into_changes`].
//! - [`lock_and_load`] locks the streams' snapshot rows `FOR UPDATE` in id
//!   order (so two transactions never deadlock) and brings each state up to
//!   date with any events after its snapshot: the lock and the state in one
//!   round trip. A stream without a snapshot row is not loaded.
//! - [`decide`] runs a command on a copy of a state, so a refused command
//!   changes nothing.
//! - [`EventRow`] and [`SnapshotRow`] are the rows every append writes to
//!   the `events` and `snapshots` tables (both apps' tables share the
//!   postgres-es layout); [`AppendedAt`] is where an event landed.

use std::collections::{BTreeMap, HashMap};

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;

/// A write found a stream past the sequence its command was decided on:
/// another writer got there first. Retried like any write conflict
/// ([`crate::db_retry::is_conflict`]).
#[derive(Debug, thiserror::Error)]
#[error("stream {0} moved while its command was decided")]
pub struct StreamMoved(pub String);

/// A stream's state under lock.
#[derive(Debug, Clone, Default)]
pub struct LockedStream<A> {
    /// The aggregate after every stored event.
    pub state: A,
    /// The stream's last stored sequence number.
    pub sequence: i64,
    /// The sequence its snapshot row was at when read (0: no row): what a
    /// guarded write expects to find there.
    pub snapshot_sequence: i64,
}

/// A stream as stored: its snapshot row and the events after it, as
/// [`lock_and_load`] and an app's own unlocked reads fetch it.
#[derive(Debug, serde::Deserialize, sqlx::FromRow)]
pub struct StoredStream {
    pub aggregate_id: String,
    pub last_sequence: i64,
    pub payload: serde_json::Value,
    /// The payloads of events after the snapshot, in order (none: `null`).
    pub later_events: Option<serde_json::Value>,
}

impl StoredStream {
    /// The state after the snapshot and every later event.
    pub fn into_locked<A: Aggregate>(self) -> Result<(String, LockedStream<A>), sqlx::Error> {
        let mut stream = LockedStream {
            state: serde_json::from_value::<A>(self.payload).map_err(decode_error)?,
            sequence: self.last_sequence,
            snapshot_sequence: self.last_sequence,
        };
        let later: Vec<A::Event> = match self.later_events {
            Some(events) => serde_json::from_value(events).map_err(decode_error)?,
            None => Vec::new(),
        };
        for event in later {
            stream.sequence += 1;
            stream.state.apply(event);
        }
        Ok((self.aggregate_id, stream))
    }
}

/// The SQL that selects a [`StoredStream`] row from snapshots `s` (the
/// caller adds `FROM snapshots s WHERE …`).
pub const STORED_STREAM_COLUMNS: &str = "s.aggregate_id, s.last_sequence, s.payload,
        (SELECT jsonb_agg(e.payload ORDER BY e.sequence) FROM events e
          WHERE e.aggregate_type = s.aggregate_type AND e.aggregate_id = s.aggregate_id
            AND e.sequence > s.last_sequence) AS later_events";

/// Locks and loads the streams of aggregate type `A` with these ids, inside
/// the caller's transaction. The result is keyed by aggregate id.
pub async fn lock_and_load<A: Aggregate>(
    conn: &mut PgConnection,
    aggregate_ids: &[String],
) -> Result<HashMap<String, LockedStream<A>>, sqlx::Error> {
    let rows: Vec<StoredStream> = sqlx::query_as(&format!(
        "SELECT {STORED_STREAM_COLUMNS}
           FROM snapshots s
          WHERE s.aggregate_type = $1 AND s.aggregate_id = ANY($2)
          ORDER BY s.aggregate_id
            FOR UPDATE OF s"
    ))
    .bind(A::TYPE)
    .bind(aggregate_ids)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(StoredStream::into_locked).collect()
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

/// An event decided in this transaction, in decision order.
#[derive(Debug, Clone)]
pub struct NewEvent<K, E, M> {
    /// The stream it belongs to.
    pub key: K,
    /// Its number in that stream.
    pub sequence: i64,
    pub event: E,
    /// What the app stores beside it (central: the event's metadata).
    pub meta: M,
}

/// The streams one transaction works on, keyed by `K` (a SKU at a store),
/// and the events decided on them.
#[derive(Debug)]
pub struct StreamSet<K, A: Aggregate, M> {
    streams: BTreeMap<K, LockedStream<A>>,
    new_events: Vec<NewEvent<K, A::Event, M>>,
}

/// What a transaction changed: its new events in decision order, and every
/// stream that has some, with its state after them.
#[derive(Debug)]
pub struct Changes<K, A: Aggregate, M> {
    pub events: Vec<NewEvent<K, A::Event, M>>,
    pub streams: Vec<(K, LockedStream<A>)>,
}

impl<K, A, M> StreamSet<K, A, M>
where
    K: Ord + Clone,
    A: Aggregate<Services = ()> + Clone + Default,
{
    /// Empty streams for `keys`, as if none had a snapshot yet.
    pub fn new(keys: impl IntoIterator<Item = K>) -> Self {
        Self {
            streams: keys
                .into_iter()
                .map(|key| (key, LockedStream::default()))
                .collect(),
            new_events: Vec::new(),
        }
    }

    /// Locks and loads the streams of `keys` ([`lock_and_load`]); `id` names
    /// a key's stream in the tables. A stream without a snapshot row
    /// (unregistered) starts empty.
    pub async fn lock_and_load(
        conn: &mut PgConnection,
        keys: impl IntoIterator<Item = K>,
        id: impl Fn(&K) -> String,
    ) -> Result<Self, sqlx::Error> {
        let set = Self::new(keys);
        let ids: Vec<String> = set.streams.keys().map(&id).collect();
        let locked = lock_and_load::<A>(conn, &ids).await?;
        Ok(set.with_loaded(locked, id))
    }

    /// Streams for `keys` at the states an app read itself (keyed by
    /// aggregate id, as `id` names them); a key not among them starts empty.
    pub fn from_loaded(
        keys: impl IntoIterator<Item = K>,
        loaded: HashMap<String, LockedStream<A>>,
        id: impl Fn(&K) -> String,
    ) -> Self {
        Self::new(keys).with_loaded(loaded, id)
    }

    fn with_loaded(
        mut self,
        mut loaded: HashMap<String, LockedStream<A>>,
        id: impl Fn(&K) -> String,
    ) -> Self {
        for (key, stream) in &mut self.streams {
            if let Some(found) = loaded.remove(&id(key)) {
                *stream = found;
            }
        }
        self
    }

    /// A stream's state, including this transaction's events.
    pub fn get(&self, key: &K) -> Option<&LockedStream<A>> {
        self.streams.get(key)
    }

    /// Runs `command` on `key`'s stream (an empty one if it was not
    /// loaded). On success its events are applied and kept with `meta` for
    /// the write; on refusal nothing changes.
    pub async fn execute(
        &mut self,
        key: &K,
        command: A::Command,
        meta: M,
    ) -> Result<Vec<A::Event>, A::Error>
    where
        M: Clone,
    {
        let stream = self.streams.entry(key.clone()).or_default();
        let (state, events) = decide(&stream.state, command).await?;
        stream.state = state;
        for event in &events {
            stream.sequence += 1;
            self.new_events.push(NewEvent {
                key: key.clone(),
                sequence: stream.sequence,
                event: event.clone(),
                meta: meta.clone(),
            });
        }
        Ok(events)
    }

    /// The new events and the streams they changed, for the write step.
    pub fn into_changes(self) -> Changes<K, A, M> {
        let changed: std::collections::BTreeSet<&K> =
            self.new_events.iter().map(|new| &new.key).collect();
        let streams = self
            .streams
            .into_iter()
            .filter(|(key, _)| changed.contains(key))
            .collect();
        Changes {
            events: self.new_events,
            streams,
        }
    }
}

/// A row of the `events` table, as `jsonb_to_recordset` reads it.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
    pub metadata: Value,
}

impl EventRow {
    /// The row of `event`, appended to stream `aggregate_id` at `sequence`.
    pub fn new<E: DomainEvent>(
        aggregate_id: String,
        sequence: i64,
        event: &E,
        metadata: Value,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            aggregate_id,
            sequence,
            event_type: event.event_type(),
            event_version: event.event_version(),
            payload: serde_json::to_value(event)?,
            metadata,
        })
    }
}

/// A row of the `snapshots` table: a stream's state after `last_sequence`.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotRow {
    pub aggregate_id: String,
    pub last_sequence: i64,
    pub payload: Value,
}

impl SnapshotRow {
    /// The snapshot of `state`, taken after event `last_sequence`.
    pub fn new<A: Serialize>(
        aggregate_id: String,
        last_sequence: i64,
        state: &A,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            aggregate_id,
            last_sequence,
            payload: serde_json::to_value(state)?,
        })
    }
}

/// Where an appended event landed in the log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppendedAt {
    pub aggregate_id: String,
    pub sequence: i64,
    pub position: i64,
}
