//! The (store, SKU) streams one transaction works on, on the shared
//! executor (`service_infra::event_streams`): locked and loaded in one
//! query, changed in memory by the aggregate, written back in one statement.

use domain::central::{CentralCommand, CentralError, CentralEvent, CentralStock, stream_id};
use domain::{Sku, StoreId};
use serde_json::Value;
use service_infra::event_streams::{LockedStream, StreamSet};
use sqlx::PgConnection;

use crate::projections::write::{OperationRow, WriteBatch};

/// The streams of one store that a transaction touches, and what it
/// appended (each event with its metadata).
#[derive(Debug)]
pub struct Streams {
    store_id: StoreId,
    set: StreamSet<Sku, CentralStock, Value>,
}

impl Streams {
    /// Empty (unregistered) streams for `skus`, without touching the database.
    pub fn new(store_id: StoreId, skus: impl IntoIterator<Item = Sku>) -> Self {
        Self {
            store_id,
            set: StreamSet::new(skus),
        }
    }

    /// Locks and loads `skus`' streams of `store_id`. Unregistered streams
    /// have no snapshot row and stay empty.
    pub async fn lock_and_load(
        conn: &mut PgConnection,
        store_id: &StoreId,
        skus: impl IntoIterator<Item = Sku>,
    ) -> Result<Self, sqlx::Error> {
        let set = StreamSet::lock_and_load(conn, skus, |sku| stream_id(store_id, sku)).await?;
        Ok(Self {
            store_id: store_id.clone(),
            set,
        })
    }

    /// The store these streams belong to.
    pub fn store_id(&self) -> &StoreId {
        &self.store_id
    }

    /// A loaded stream's current state.
    pub fn get(&self, sku: &Sku) -> Option<&LockedStream<CentralStock>> {
        self.set.get(sku)
    }

    /// Runs a command on a stream. On success its events are applied and
    /// kept with `metadata` for [`Streams::into_write_batch`]; on refusal
    /// nothing changes.
    pub async fn execute(
        &mut self,
        sku: &Sku,
        command: CentralCommand,
        metadata: &Value,
    ) -> Result<Vec<CentralEvent>, CentralError> {
        self.set.execute(sku, command, metadata.clone()).await
    }

    /// The rows to write: new events in decision order, the recorded
    /// operations, and the projection and snapshot of every changed stream.
    pub fn into_write_batch(
        self,
        operations: Vec<OperationRow>,
    ) -> Result<WriteBatch, serde_json::Error> {
        let changes = self.set.into_changes();
        let mut batch = WriteBatch::new(self.store_id);
        for new in changes.events {
            batch.add_event(&new.key, new.sequence, &new.event, new.meta)?;
        }
        for (sku, stream) in &changes.streams {
            batch.add_stream(sku, stream.sequence, &stream.state)?;
        }
        batch.add_operations(operations);
        Ok(batch)
    }
}
