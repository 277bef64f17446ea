//! The `transfers` projection: written with the transfers' events in the
//! transaction that decided them, read by the transfer API, the stores'
//! transfer feed and the chain-wide `in_transit` figure.

use chrono::{DateTime, Utc};
use domain::transfer::{Transfer, TransferId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use service_infra::event_streams::{Changes, EventRow, SnapshotRow};
use sqlx::types::Json;
use uuid::Uuid;

/// The `store_id` of transfer events in `events`: no store's id (store ids
/// start with a letter or digit), so no store's feed of changes holds them.
pub const TRANSFER_LOG: &str = "~transfers";

/// A row of `transfers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct TransferRow {
    pub transfer_id: Uuid,
    pub from_store: String,
    pub to_store: String,
    pub sku: String,
    pub quantity: i64,
    pub status: String,
    pub shipped: Option<i64>,
    pub received: Option<i64>,
    pub discrepancy: Option<i64>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl TransferRow {
    /// The row of a requested transfer after event `version`; `None` before
    /// the request.
    pub fn of(state: &Transfer, version: i64) -> Option<Self> {
        let order = state.order.as_ref()?;
        Some(Self {
            transfer_id: order.transfer_id.as_uuid(),
            from_store: order.from_store.to_string(),
            to_store: order.to_store.to_string(),
            sku: order.sku.to_string(),
            quantity: order.quantity,
            status: state.status.as_str().to_owned(),
            shipped: state.shipped,
            received: state.received,
            discrepancy: state.discrepancy,
            requested_at: state.requested_at?,
            updated_at: state.updated_at?,
            version,
        })
    }
}

#[derive(Serialize)]
struct TransferEventRow {
    #[serde(flatten)]
    row: EventRow,
    sku: String,
}

/// Everything a transaction's transfer decisions write, as one JSON
/// parameter.
#[derive(Default, Serialize)]
pub struct TransferWrite {
    events: Vec<TransferEventRow>,
    snapshots: Vec<SnapshotRow>,
    transfers: Vec<TransferRow>,
}

const WRITE_TRANSFERS: &str = r#"
WITH ev AS (
    INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                        payload, metadata, store_id, sku)
    SELECT 'Transfer', r.aggregate_id, r.sequence, r.event_type, r.event_version,
           r.payload, r.metadata, $2, r.sku
      FROM jsonb_to_recordset($1->'events') AS r(aggregate_id text, sequence bigint, event_type text,
                                      event_version text, payload jsonb, metadata jsonb, sku text)
    RETURNING 1
), snaps AS (
    INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
    SELECT 'Transfer', n.aggregate_id, n.last_sequence, n.last_sequence, n.payload
      FROM jsonb_to_recordset($1->'snapshots') AS n(aggregate_id text, last_sequence bigint, payload jsonb)
    ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
       SET last_sequence = EXCLUDED.last_sequence, current_snapshot = EXCLUDED.current_snapshot,
           payload = EXCLUDED.payload
    RETURNING 1
), rows AS (
    INSERT INTO transfers
    SELECT * FROM jsonb_populate_recordset(NULL::transfers, $1->'transfers')
    ON CONFLICT (transfer_id) DO UPDATE
       SET status = EXCLUDED.status, shipped = EXCLUDED.shipped, received = EXCLUDED.received,
           discrepancy = EXCLUDED.discrepancy, updated_at = EXCLUDED.updated_at,
           version = EXCLUDED.version
    RETURNING 1
)
SELECT (SELECT count(*) FROM ev)
"#;

impl TransferWrite {
    /// The rows of what a transaction decided on transfers.
    pub fn of(changes: Changes<TransferId, Transfer, Value>) -> Result<Self, serde_json::Error> {
        let mut write = Self::default();
        for (id, stream) in &changes.streams {
            let sku = stream.state.order.as_ref().map(|o| o.sku.to_string());
            for new in changes.events.iter().filter(|new| new.key == *id) {
                write.events.push(TransferEventRow {
                    row: EventRow::new(id.to_string(), new.sequence, &new.event, new.meta.clone())?,
                    sku: sku.clone().unwrap_or_default(),
                });
            }
            write.snapshots.push(SnapshotRow::new(
                id.to_string(),
                stream.sequence,
                &stream.state,
            )?);
            write
                .transfers
                .extend(TransferRow::of(&stream.state, stream.sequence));
        }
        Ok(write)
    }

    /// Writes everything in one statement (nothing when nothing changed).
    pub async fn write(self, conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
        if self.events.is_empty() {
            return Ok(());
        }
        sqlx::query(WRITE_TRANSFERS)
            .bind(Json(&self))
            .bind(TRANSFER_LOG)
            .execute(conn)
            .await
            .map(drop)
    }
}

const COLUMNS: &str = "transfer_id, from_store, to_store, sku, quantity, status, shipped, received,
     discrepancy, requested_at, updated_at, version";

/// One transfer.
pub async fn one(
    executor: impl sqlx::PgExecutor<'_>,
    id: TransferId,
) -> Result<Option<TransferRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM transfers WHERE transfer_id = $1"
    ))
    .bind(id.as_uuid())
    .fetch_optional(executor)
    .await
}

/// A page of transfers in id order (ids are time-ordered), after `after`,
/// of `store_id` (either side) and `status` when given.
pub async fn page(
    executor: impl sqlx::PgExecutor<'_>,
    store_id: Option<&str>,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<TransferRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM transfers
          WHERE ($1::text IS NULL OR from_store = $1 OR to_store = $1)
            AND ($2::text IS NULL OR status = $2)
            AND ($3::uuid IS NULL OR transfer_id > $3)
          ORDER BY transfer_id LIMIT $4"
    ))
    .bind(store_id)
    .bind(status)
    .bind(after)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// Transfers among `ids` that `store_id` sends or receives.
pub async fn of_store(
    executor: impl sqlx::PgExecutor<'_>,
    store_id: &str,
    ids: &[Uuid],
) -> Result<Vec<TransferRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM transfers
          WHERE transfer_id = ANY($2) AND (from_store = $1 OR to_store = $1)
          ORDER BY transfer_id"
    ))
    .bind(store_id)
    .bind(ids)
    .fetch_all(executor)
    .await
}

/// Units of `sku` shipped and not yet received, chain-wide or on transfers
/// of `store_id`.
pub async fn in_transit(
    executor: impl sqlx::PgExecutor<'_>,
    sku: &str,
    store_id: Option<&str>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COALESCE(sum(shipped), 0)::bigint FROM transfers
          WHERE sku = $1 AND status = 'shipped'
            AND ($2::text IS NULL OR from_store = $2 OR to_store = $2)",
    )
    .bind(sku)
    .bind(store_id)
    .fetch_one(executor)
    .await
}
