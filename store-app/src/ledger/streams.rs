//! One transaction over a set of SKU streams: lock and load them, run
//! commands in memory, then append the events and update the projections
//! and snapshots in a single statement before committing.

use std::collections::{BTreeMap, HashMap};

use domain::Sku;
use domain::store::{StockCommand, StockError, StockEvent, StockItem};
use service_infra::event_streams::{decide, lock_and_load};
use sqlx::{PgPool, Postgres, Transaction};

use crate::projections;

/// A stream loaded under lock, with the events produced in this transaction.
#[derive(Default)]
struct LoadedStream {
    item: StockItem,
    sequence: i64,
    new_events: Vec<StockEvent>,
}

/// An event appended by a committed transaction.
#[derive(Debug, Clone)]
pub struct Appended {
    pub position: i64,
    pub sku: Sku,
    pub event: StockEvent,
}

/// A transaction holding the locks of the streams it touches.
pub struct StreamTx {
    tx: Transaction<'static, Postgres>,
    streams: BTreeMap<Sku, LoadedStream>,
}

impl StreamTx {
    /// Begins a transaction and locks and loads the streams of `skus`
    /// (`service_infra::event_streams`).
    pub async fn begin(pool: &PgPool, skus: &[Sku]) -> Result<Self, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let ids: Vec<String> = skus.iter().map(Sku::to_string).collect();
        let mut locked = lock_and_load::<StockItem>(&mut tx, &ids).await?;
        let mut streams = BTreeMap::new();
        for sku in skus {
            streams.entry(sku.clone()).or_insert_with(|| {
                let locked = locked.remove(sku.as_str()).unwrap_or_default();
                LoadedStream {
                    item: locked.state,
                    sequence: locked.sequence,
                    new_events: Vec::new(),
                }
            });
        }
        Ok(Self { tx, streams })
    }

    /// The transaction, for reads that must see the locked state.
    pub fn connection(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }

    /// The current state of a locked stream.
    pub fn item(&self, sku: &Sku) -> Option<&StockItem> {
        self.streams.get(sku).map(|s| &s.item)
    }

    /// Runs a command on a locked stream; its events are kept for the commit.
    pub async fn execute(
        &mut self,
        sku: &Sku,
        command: StockCommand,
    ) -> Result<Vec<StockEvent>, StockError> {
        let Some(stream) = self.streams.get_mut(sku) else {
            return Err(StockError::SkuNotFound);
        };
        let (item, events) = decide(&stream.item, command).await?;
        stream.item = item;
        stream.new_events.extend(events.iter().cloned());
        Ok(events)
    }

    /// Appends every new event, updates projections and snapshots, commits.
    pub async fn commit(mut self) -> Result<Vec<Appended>, sqlx::Error> {
        let mut batch = projections::WriteBatch::default();
        let mut appended = Vec::new();
        for (sku, stream) in std::mem::take(&mut self.streams) {
            if stream.new_events.is_empty() {
                continue;
            }
            let mut sequence = stream.sequence;
            for event in &stream.new_events {
                sequence += 1;
                batch
                    .add_event(&sku, sequence, event)
                    .map_err(encode_error)?;
            }
            batch
                .add_stream(&sku, sequence, &stream.item, &stream.new_events)
                .map_err(encode_error)?;
            let first = stream.sequence + 1;
            appended.extend(
                stream
                    .new_events
                    .into_iter()
                    .zip(first..)
                    .map(|(event, sequence)| (sku.clone(), sequence, event)),
            );
        }
        let positions: HashMap<(String, i64), i64> = if batch.is_empty() {
            HashMap::new()
        } else {
            batch
                .write(&mut self.tx)
                .await?
                .into_iter()
                .map(|(id, sequence, position)| ((id, sequence), position))
                .collect()
        };
        self.tx.commit().await?;
        Ok(appended
            .into_iter()
            .map(|(sku, sequence, event)| Appended {
                position: positions
                    .get(&(sku.to_string(), sequence))
                    .copied()
                    .unwrap_or_default(),
                sku,
                event,
            })
            .collect())
    }
}

fn encode_error(error: serde_json::Error) -> sqlx::Error {
    sqlx::Error::Encode(Box::new(error))
}
