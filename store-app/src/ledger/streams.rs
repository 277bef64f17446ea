//! One transaction over a set of SKU streams: lock and load them, run
//! commands in memory, then append the events and update the projections
//! and snapshots in a single statement before committing.

use std::collections::{BTreeMap, HashMap};

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use domain::Sku;
use domain::store::{StockCommand, StockError, StockEvent, StockItem};
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

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    aggregate_id: String,
    last_sequence: i64,
    payload: serde_json::Value,
    later_events: Option<serde_json::Value>,
}

impl StreamTx {
    /// Begins a transaction and locks the streams of `skus` in a fixed order
    /// (so two transactions never deadlock), loading each from its snapshot
    /// plus any events after it.
    pub async fn begin(pool: &PgPool, skus: &[Sku]) -> Result<Self, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let ids: Vec<&str> = skus.iter().map(Sku::as_str).collect();
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
        .bind(StockItem::TYPE)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        let mut streams: BTreeMap<Sku, LoadedStream> = skus
            .iter()
            .map(|sku| (sku.clone(), LoadedStream::default()))
            .collect();
        for row in rows {
            let sku: Sku = row.aggregate_id.parse().map_err(decode_error)?;
            let stream = streams.entry(sku).or_default();
            stream.item = serde_json::from_value(row.payload).map_err(decode_error)?;
            stream.sequence = row.last_sequence;
            let later: Vec<StockEvent> = match row.later_events {
                Some(events) => serde_json::from_value(events).map_err(decode_error)?,
                None => Vec::new(),
            };
            for event in later {
                stream.sequence += 1;
                stream.item.apply(event);
            }
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
        let mut draft = stream.item.clone();
        let sink = EventSink::default();
        draft.handle(command, &(), &sink).await?;
        let events = sink.collect().await;
        stream.item = draft;
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

fn decode_error(error: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(error))
}
