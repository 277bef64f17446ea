//! The (store, SKU) streams one transaction works on: locked and loaded in
//! one query, changed in memory by the aggregate, written back in one
//! statement.

use std::collections::BTreeMap;

use domain::central::{CentralCommand, CentralError, CentralEvent, CentralStock, stream_id};
use domain::{Sku, StoreId};
use serde_json::Value;
use service_infra::event_streams::{decide, lock_and_load};
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

    /// Locks and loads `skus`' streams (`service_infra::event_streams`).
    /// Unregistered streams have no snapshot row and stay empty.
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
        let mut locked = lock_and_load::<CentralStock>(tx, &ids).await?;
        for (sku, stream) in &mut streams.streams {
            if let Some(loaded) = locked.remove(&stream_id(store_id, sku)) {
                stream.state = loaded.state;
                stream.sequence = loaded.sequence;
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
        let (state, events) = decide(&stream.state, command).await?;
        stream.state = state;
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
