//! One transaction over a set of SKU streams, on the shared executor
//! (`service_infra::event_streams`): lock and load them, run commands in
//! memory, then append the events and update the projections and snapshots
//! in a single statement before committing. The statement ([`write`]) is
//! also the whole write of a group commit, on its own.

use std::collections::{BTreeMap, HashMap};

use domain::Sku;
use domain::store::{StockCommand, StockError, StockEvent, StockItem};
use service_infra::event_streams::{Changes, LockedStream, StreamMoved, StreamSet};
use sqlx::{PgPool, Postgres, Transaction};

use super::LedgerError;
use crate::projections;

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
    streams: StreamSet<Sku, StockItem, ()>,
}

impl StreamTx {
    /// Begins a transaction and locks and loads the streams of `skus`.
    pub async fn begin(pool: &PgPool, skus: &[Sku]) -> Result<Self, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let streams =
            StreamSet::lock_and_load(&mut tx, skus.iter().cloned(), Sku::to_string).await?;
        Ok(Self { tx, streams })
    }

    /// The transaction, for reads that must see the locked state.
    pub fn connection(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }

    /// Runs a command on a locked stream; its events are kept for the commit.
    pub async fn execute(
        &mut self,
        sku: &Sku,
        command: StockCommand,
    ) -> Result<Vec<StockEvent>, StockError> {
        self.streams.execute(sku, command, ()).await
    }

    /// Appends every new event, updates projections and snapshots, commits.
    pub async fn commit(self) -> Result<Vec<Appended>, LedgerError> {
        Ok(self.commit_with_states().await?.appended)
    }

    /// [`commit`](Self::commit), also returning the states written.
    pub async fn commit_with_states(mut self) -> Result<Written, LedgerError> {
        let nothing_assumed = std::collections::HashSet::new();
        let written = write(&mut self.tx, self.streams.into_changes(), &nothing_assumed).await?;
        if let Some(sku) = written.moved.first() {
            // Only a stream created meanwhile can move under these locks.
            return Err(StreamMoved(sku.to_string()).into());
        }
        self.tx.commit().await?;
        Ok(written)
    }
}

/// What one write statement did.
pub struct Written {
    /// The events that landed, in decision order.
    pub appended: Vec<Appended>,
    /// Streams that moved since their commands were decided: nothing of
    /// theirs was written.
    pub moved: Vec<Sku>,
    /// The other streams with new events, at their state now stored.
    pub landed: Vec<(Sku, LockedStream<StockItem>)>,
}

/// Appends the new events, updates projections and snapshots, in one
/// statement on `conn` (inside a transaction, or on its own). The streams
/// of `unheld` were decided as if no hold kept units of them: they are
/// written only if none does.
pub async fn write(
    conn: &mut sqlx::PgConnection,
    changes: Changes<Sku, StockItem, ()>,
    unheld: &std::collections::HashSet<Sku>,
) -> Result<Written, sqlx::Error> {
    let mut batch = projections::WriteBatch::default();
    let mut by_stream: BTreeMap<&Sku, Vec<StockEvent>> = BTreeMap::new();
    for new in &changes.events {
        batch
            .add_event(&new.key, new.sequence, &new.event)
            .map_err(encode_error)?;
        by_stream
            .entry(&new.key)
            .or_default()
            .push(new.event.clone());
    }
    for (sku, stream) in &changes.streams {
        let events = by_stream.get(sku).map_or(&[][..], Vec::as_slice);
        batch
            .add_stream(sku, stream, events, unheld.contains(sku))
            .map_err(encode_error)?;
    }
    let positions: HashMap<(String, i64), i64> = if batch.is_empty() {
        HashMap::new()
    } else {
        batch
            .write(conn)
            .await?
            .into_iter()
            .map(|at| ((at.aggregate_id, at.sequence), at.position))
            .collect()
    };
    let mut moved = Vec::new();
    let mut appended = Vec::new();
    for new in changes.events {
        match positions.get(&(new.key.to_string(), new.sequence)) {
            Some(&position) => appended.push(Appended {
                position,
                sku: new.key,
                event: new.event,
            }),
            None if !moved.contains(&new.key) => moved.push(new.key),
            None => {}
        }
    }
    let landed = changes
        .streams
        .into_iter()
        .filter(|(sku, _)| !moved.contains(sku))
        .map(|(sku, mut stream)| {
            stream.snapshot_sequence = stream.sequence;
            (sku, stream)
        })
        .collect();
    Ok(Written {
        appended,
        moved,
        landed,
    })
}

fn encode_error(error: serde_json::Error) -> sqlx::Error {
    sqlx::Error::Encode(Box::new(error))
}
