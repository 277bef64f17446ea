//! `rebuild-projections` for the store: what the log says `stock`,
//! `changes`, `counts` and the snapshots must be (`service_infra::rebuild`
//! runs the procedure, a page of events at a time).
//!
//! Only per-SKU state stays in memory: each SKU's aggregate, its last
//! change and its changes still pending. A change row is final once
//! settled (the aggregate settles a change once: outcomes are idempotent),
//! so settled changes and counts are written after each page and
//! forgotten, with the pending ones and the `stock` rows at the end. To
//! rebuild they are written to the tables ([`tables`]); to verify, to
//! temporary tables of the same shape, which are then compared with the
//! real ones ([`compare`]).

mod compare;
mod copy;
mod tables;

use std::collections::{BTreeMap, HashMap};

use cqrs_es::Aggregate;
use domain::Sku;
use domain::store::{StockEvent, StockItem};
use service_infra::rebuild::{LoggedEvent, Projections};
use sqlx::PgConnection;
use uuid::Uuid;

use super::rows::{ChangeRow, ChangeUpdate, CountRow, StockRow, change_update, count_row};
use tables::Target;

/// One SKU as the log has left it so far.
#[derive(Default)]
struct Stream {
    item: StockItem,
    /// The sequence of its last event.
    sequence: i64,
    /// Its latest local change.
    last_operation: Option<Uuid>,
    /// Its changes not settled yet.
    pending: HashMap<Uuid, ChangeRow>,
}

/// What the log says the projections must be: every SKU's state, and the
/// finished rows not written yet.
pub struct StoreProjections {
    target: Target,
    streams: BTreeMap<Sku, Stream>,
    changes: Vec<ChangeRow>,
    counts: Vec<CountRow>,
    /// Change and count rows written so far.
    written: usize,
}

impl Projections for StoreProjections {
    const AGGREGATE_TYPES: &'static [&'static str] = &[StockItem::TYPE];
    const LOCK: &'static str = "LOCK TABLE events IN SHARE MODE";

    async fn begin(conn: &mut PgConnection, verify: bool) -> anyhow::Result<Self> {
        let target = if verify {
            Target::Temporary
        } else {
            Target::Tables
        };
        target.prepare(conn).await?;
        Ok(Self {
            target,
            streams: BTreeMap::new(),
            changes: Vec::new(),
            counts: Vec::new(),
            written: 0,
        })
    }

    fn apply(&mut self, logged: LoggedEvent) -> anyhow::Result<()> {
        let sku = Sku::try_from(logged.aggregate_id)?;
        let event: StockEvent = serde_json::from_str(&logged.payload)?;
        let update = change_update(&sku, Some(logged.position), &event);
        if let Some(count) = count_row(&sku, &event) {
            self.counts.push(count);
        }
        let stream = self.streams.entry(sku).or_default();
        match update {
            Some(ChangeUpdate::Insert(change)) => {
                stream.last_operation = Some(change.operation_id);
                stream.pending.insert(change.operation_id, *change);
            }
            Some(ChangeUpdate::Settle(settlement)) => {
                if let Some(mut change) = stream.pending.remove(&settlement.operation_id) {
                    change.settle(&settlement);
                    self.changes.push(change);
                }
            }
            None => {}
        }
        stream.item.apply(event);
        stream.sequence = logged.sequence;
        Ok(())
    }

    async fn flush(&mut self, conn: &mut PgConnection) -> anyhow::Result<()> {
        self.target.write_changes(conn, &self.changes).await?;
        self.target.write_counts(conn, &self.counts).await?;
        self.written += self.changes.len() + self.counts.len();
        self.changes.clear();
        self.counts.clear();
        Ok(())
    }

    async fn finish(mut self, conn: &mut PgConnection) -> anyhow::Result<(usize, Vec<String>)> {
        let pending = self.streams.values_mut().flat_map(|s| s.pending.drain());
        self.changes.extend(pending.map(|(_, change)| change));
        self.flush(conn).await?;
        self.target.write_stock(conn, &self.stock_rows()).await?;
        let rows = self.written + self.streams.len();
        match self.target {
            Target::Temporary => Ok((rows, compare::differences(conn).await?)),
            Target::Tables => {
                self.target.finish(conn, &self.snapshots()).await?;
                Ok((rows, Vec::new()))
            }
        }
    }
}

impl StoreProjections {
    /// Every SKU's `stock` row.
    fn stock_rows(&self) -> Vec<StockRow> {
        self.streams
            .iter()
            .map(|(sku, stream)| StockRow {
                last_operation_id: stream.last_operation,
                ..StockRow::of(sku, &stream.item, &[])
            })
            .collect()
    }

    /// Every SKU's snapshot: `aggregate_id`, `last_sequence`, `payload`.
    fn snapshots(&self) -> Vec<serde_json::Value> {
        self.streams
            .iter()
            .map(|(sku, stream)| {
                serde_json::json!({
                    "aggregate_id": sku,
                    "last_sequence": stream.sequence,
                    "payload": stream.item,
                })
            })
            .collect()
    }
}
