//! The (store, SKU) streams one transaction works on: locked and loaded in
//! one query, changed in memory by the aggregate, written back in one
//! statement.

use std::collections::BTreeMap;

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use domain::central::{CentralCommand, CentralError, CentralEvent, CentralStock, stream_id};
use domain::{Sku, StoreId};
use serde_json::Value;
use sqlx::{Postgres, Transaction};

use crate::projections::write::{OperationRow, WriteBatch};

/// One stream's state under lock.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    /// The aggregate after every event so far, including this transaction's.
    pub state: CentralStock,
    /// The stream's last sequence, including this transaction's events.
    pub sequence: i64,
    /// Whether this transaction appended to the stream.
    pub changed: bool,
}

/// An event produced in this transaction, in the order it was decided.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub sku: Sku,
    pub sequence: i64,
    pub event: CentralEvent,
    pub metadata: Value,
}

/// The streams of one store that a transaction touches, and what it appended.
#[derive(Debug)]
pub struct Streams {
    store_id: StoreId,
    streams: BTreeMap<Sku, Stream>,
    new_events: Vec<NewEvent>,
}

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    aggregate_id: String,
    last_sequence: i64,
    payload: Value,
    later_events: Option<Value>,
}

impl Streams {
    /// Streams starting from the given states; an SKU without a state is an
    /// empty (unregistered) stream.
    pub fn new(store_id: StoreId, skus: impl IntoIterator<Item = Sku>) -> Self {
        Self {
            store_id,
            streams: skus
                .into_iter()
                .map(|sku| (sku, Stream::default()))
                .collect(),
            new_events: Vec::new(),
        }
    }

    /// Locks the snapshot rows of `skus`' streams in id order (so two
    /// transactions never deadlock) and loads each from its snapshot plus
    /// any events after it. Unregistered streams have no row and stay empty.
    pub async fn lock_and_load(
        tx: &mut Transaction<'static, Postgres>,
        store_id: &StoreId,
        skus: impl IntoIterator<Item = Sku>,
    ) -> Result<Self, sqlx::Error> {
        let mut streams = Self::new(store_id.clone(), skus);
        let ids: Vec<String> = streams
            .streams
            .keys()
            .map(|sku| stream_id(store_id, sku))
            .collect();
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
        .bind(CentralStock::TYPE)
        .bind(&ids)
        .fetch_all(&mut **tx)
        .await?;
        for row in rows {
            let sku = row
                .aggregate_id
                .rsplit_once('/')
                .and_then(|(_, sku)| sku.parse::<Sku>().ok())
                .ok_or_else(|| decode_error(format!("bad stream id {:?}", row.aggregate_id)))?;
            let stream = streams.streams.entry(sku).or_default();
            stream.state = serde_json::from_value(row.payload).map_err(decode_error)?;
            stream.sequence = row.last_sequence;
            let later: Vec<CentralEvent> = match row.later_events {
                Some(events) => serde_json::from_value(events).map_err(decode_error)?,
                None => Vec::new(),
            };
            for event in later {
                stream.sequence += 1;
                stream.state.apply(event);
            }
        }
        Ok(streams)
    }

    /// The store these streams belong to.
    pub fn store_id(&self) -> &StoreId {
        &self.store_id
    }

    /// A loaded stream's current state.
    pub fn get(&self, sku: &Sku) -> Option<&Stream> {
        self.streams.get(sku)
    }

    /// Runs a command on a loaded stream. On success its events are applied
    /// and kept for [`Streams::write`]; on refusal nothing changes.
    pub async fn execute(
        &mut self,
        sku: &Sku,
        command: CentralCommand,
        metadata: &Value,
    ) -> Result<Vec<CentralEvent>, CentralError> {
        let Some(stream) = self.streams.get_mut(sku) else {
            return Err(CentralError::SkuNotFound);
        };
        let mut draft = stream.state.clone();
        let sink = EventSink::default();
        draft.handle(command, &(), &sink).await?;
        let events = sink.collect().await;
        stream.state = draft;
        for event in &events {
            stream.sequence += 1;
            stream.changed = true;
            self.new_events.push(NewEvent {
                sku: sku.clone(),
                sequence: stream.sequence,
                event: event.clone(),
                metadata: metadata.clone(),
            });
        }
        Ok(events)
    }

    /// The rows to write: new events in decision order, the recorded
    /// operations, and the projection and snapshot of every changed stream.
    pub fn into_write_batch(
        self,
        operations: Vec<OperationRow>,
    ) -> Result<WriteBatch, serde_json::Error> {
        let mut batch = WriteBatch::new(self.store_id.clone());
        for new in &self.new_events {
            batch.add_event(&new.sku, new.sequence, &new.event, new.metadata.clone())?;
        }
        for (sku, stream) in &self.streams {
            if stream.changed {
                batch.add_stream(sku, stream.sequence, &stream.state)?;
            }
        }
        batch.add_operations(operations);
        Ok(batch)
    }
}

fn decode_error(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> sqlx::Error {
    sqlx::Error::Decode(error.into())
}
