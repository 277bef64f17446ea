//! The one read of a group commit, in one statement and without locks: the
//! batch's streams as stored, what is already recorded under its operation
//! ids (a change, or a count that matched), and the live holds on the SKUs
//! it sells. Decisions made on it hold as of this read; the write checks
//! that each stream is still where it was read.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use domain::store::StockItem;
use domain::{OperationId, Sku};
use serde::Deserialize;
use service_infra::event_streams::{LockedStream, STORED_STREAM_COLUMNS, StoredStream};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::holds::LIVE_HOLDS;

/// A change (or matched count) recorded under an operation id.
#[derive(Debug, Deserialize)]
pub struct RecordedChange {
    pub operation_id: Uuid,
    pub sku: String,
    pub kind: String,
    pub delta: i64,
    pub expected_version: Option<i64>,
    pub quantity_after: i64,
    pub version_after: i64,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct LiveHold {
    reservation_id: Uuid,
    sku: String,
    quantity: i64,
}

/// What a group commit reads before deciding.
pub struct BatchRead {
    /// The streams, keyed by SKU; an unregistered SKU has none.
    pub streams: HashMap<String, LockedStream<StockItem>>,
    recorded: HashMap<Uuid, RecordedChange>,
    holds: HashMap<String, Vec<(Uuid, i64)>>,
    kept: bool,
}

/// The read, with the live holds on `$3` when `holds` (a group that sells)
/// and without that part otherwise (PostgreSQL sets up every part of a plan
/// on each execution).
fn read_statement(holds: bool) -> String {
    let holds = if holds {
        format!("(SELECT COALESCE(jsonb_agg(h), '[]') FROM ({LIVE_HOLDS}) h)")
    } else {
        "'[]'::jsonb".to_owned()
    };
    format!(
        "SELECT
           (SELECT COALESCE(jsonb_agg(s), '[]') FROM (
              SELECT {STORED_STREAM_COLUMNS} FROM snapshots s
               WHERE s.aggregate_type = 'StockItem' AND s.aggregate_id = ANY($1)) s),
           (SELECT COALESCE(jsonb_agg(r), '[]') FROM (
              SELECT operation_id, sku, kind, delta, expected_version, quantity_after,
                     version_after, occurred_at
                FROM changes WHERE operation_id = ANY($2)
              UNION ALL
              SELECT operation_id, sku, 'count', 0, expected_version, counted, version_after,
                     counted_at
                FROM counts WHERE operation_id = ANY($2) AND delta = 0) r),
           {holds}"
    )
}

static READ_SELLING: LazyLock<String> = LazyLock::new(|| read_statement(true));
static READ: LazyLock<String> = LazyLock::new(|| read_statement(false));

type ReadRow = (
    Json<Vec<StoredStream>>,
    Json<Vec<RecordedChange>>,
    Json<Vec<LiveHold>>,
);

impl BatchRead {
    /// Reads the streams of `skus`, the records of `operations` and the
    /// live holds on `selling`.
    pub async fn load(
        conn: &mut PgConnection,
        skus: &[String],
        operations: &[Uuid],
        selling: &[String],
    ) -> Result<Self, sqlx::Error> {
        let query = if selling.is_empty() {
            sqlx::query_as(&READ).bind(skus).bind(operations)
        } else {
            sqlx::query_as(&READ_SELLING)
                .bind(skus)
                .bind(operations)
                .bind(selling)
        };
        let (Json(streams), Json(recorded), Json(holds)): ReadRow = query.fetch_one(conn).await?;
        let mut held: HashMap<String, Vec<(Uuid, i64)>> = HashMap::new();
        for hold in holds {
            held.entry(hold.sku)
                .or_default()
                .push((hold.reservation_id, hold.quantity));
        }
        Ok(Self {
            streams: streams
                .into_iter()
                .map(StoredStream::into_locked)
                .collect::<Result<_, _>>()?,
            recorded: recorded
                .into_iter()
                .map(|change| (change.operation_id, change))
                .collect(),
            holds: held,
            kept: false,
        })
    }

    /// The kept states of the group's streams instead of a read: nothing
    /// recorded is known, nor any hold (the write checks both).
    pub fn from_kept(streams: HashMap<String, LockedStream<StockItem>>) -> Self {
        Self {
            streams,
            recorded: HashMap::new(),
            holds: HashMap::new(),
            kept: true,
        }
    }

    /// Whether this is [`from_kept`](Self::from_kept), not a read.
    pub fn is_kept(&self) -> bool {
        self.kept
    }

    /// What is recorded under `operation_id`, if anything.
    pub fn recorded(&self, operation_id: OperationId) -> Option<&RecordedChange> {
        self.recorded.get(&operation_id.as_uuid())
    }

    /// Units of `sku` a sale may not take: the live holds, except the one
    /// it picks up and those picked up earlier in this batch.
    pub fn held(&self, sku: &Sku, picking_up: Option<Uuid>, picked_up: &HashSet<Uuid>) -> i64 {
        self.holds.get(sku.as_str()).map_or(0, |holds| {
            holds
                .iter()
                .filter(|(id, _)| Some(*id) != picking_up && !picked_up.contains(id))
                .map(|(_, quantity)| quantity)
                .sum()
        })
    }
}
