//! The write half of the projections: everything one transaction appends, in
//! one statement — events, idempotency records, `central_stock` and
//! snapshots.

use cqrs_es::Aggregate;
use domain::central::{CentralEvent, CentralStock, stream_id};
use domain::{Sku, StoreId};
use serde::Serialize;
use serde_json::Value;
use service_infra::event_streams::{EventRow, SnapshotRow};
use sqlx::types::Json;
use uuid::Uuid;

/// An `events` row with central's two extra columns.
#[derive(Serialize)]
struct CentralEventRow {
    #[serde(flatten)]
    row: EventRow,
    store_id: String,
    sku: String,
}

/// The final outcome of one operation, as stored in `operations`.
#[derive(Debug, Clone, Serialize)]
pub struct OperationRow {
    pub store_id: String,
    pub operation_id: Uuid,
    pub sku: String,
    pub kind: &'static str,
    pub delta: i64,
    pub expected_version: Option<i64>,
    pub outcome: &'static str,
    pub version: i64,
    pub quantity: i64,
}

/// One row of `central_stock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StockRow {
    pub store_id: String,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub version: i64,
}

impl StockRow {
    /// The projection of a registered stream; `None` before registration.
    pub fn of(state: &CentralStock) -> Option<Self> {
        Some(Self {
            store_id: state.store_id.as_ref()?.to_string(),
            sku: state.sku.as_ref()?.to_string(),
            name: state.name.clone(),
            quantity: state.quantity,
            version: state.version,
        })
    }
}

/// Rows collected from one transaction of one store, written as one JSON
/// parameter.
#[derive(Serialize)]
pub struct WriteBatch {
    #[serde(skip)]
    store_id: StoreId,
    events: Vec<CentralEventRow>,
    operations: Vec<OperationRow>,
    stock: Vec<StockRow>,
    snapshots: Vec<SnapshotRow>,
}

const WRITE_ALL: &str = r#"
WITH ev AS (
    INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                        payload, metadata, store_id, sku)
    SELECT $1, r.aggregate_id, r.sequence, r.event_type, r.event_version,
           r.payload, r.metadata, r.store_id, r.sku
      FROM jsonb_to_recordset($2->'events') AS r(aggregate_id text, sequence bigint, event_type text,
                                      event_version text, payload jsonb, metadata jsonb,
                                      store_id text, sku text)
    RETURNING 1
), ops AS (
    INSERT INTO operations (store_id, operation_id, sku, kind, delta, expected_version, outcome,
                            version, quantity)
    SELECT o.store_id, o.operation_id, o.sku, o.kind, o.delta, o.expected_version, o.outcome,
           o.version, o.quantity
      FROM jsonb_to_recordset($2->'operations') AS o(store_id text, operation_id uuid, sku text, kind text, delta bigint,
                                      expected_version bigint, outcome text, version bigint,
                                      quantity bigint)
    RETURNING 1
), stock AS (
    INSERT INTO central_stock (store_id, sku, name, quantity, version)
    SELECT t.store_id, t.sku, t.name, t.quantity, t.version
      FROM jsonb_to_recordset($2->'stock') AS t(store_id text, sku text, name text, quantity bigint,
                                      version bigint)
    ON CONFLICT (store_id, sku) DO UPDATE
       SET name = EXCLUDED.name, quantity = EXCLUDED.quantity, version = EXCLUDED.version
    RETURNING 1
), snaps AS (
    INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
    SELECT $1, n.aggregate_id, n.last_sequence, n.last_sequence, n.payload
      FROM jsonb_to_recordset($2->'snapshots') AS n(aggregate_id text, last_sequence bigint, payload jsonb)
    ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
       SET last_sequence = EXCLUDED.last_sequence, current_snapshot = EXCLUDED.current_snapshot,
           payload = EXCLUDED.payload
    RETURNING 1
)
SELECT (SELECT count(*) FROM ev) AS events, (SELECT count(*) FROM ops) AS operations
"#;

impl WriteBatch {
    /// An empty batch for one store.
    pub fn new(store_id: StoreId) -> Self {
        Self {
            store_id,
            events: Vec::new(),
            operations: Vec::new(),
            stock: Vec::new(),
            snapshots: Vec::new(),
        }
    }

    /// Adds an event appended to `sku`'s stream at `sequence`.
    pub fn add_event(
        &mut self,
        sku: &Sku,
        sequence: i64,
        event: &CentralEvent,
        metadata: Value,
    ) -> Result<(), serde_json::Error> {
        let id = stream_id(&self.store_id, sku);
        self.events.push(CentralEventRow {
            row: EventRow::new(id, sequence, event, metadata)?,
            store_id: self.store_id.to_string(),
            sku: sku.to_string(),
        });
        Ok(())
    }

    /// Adds a stream's state after its new events: projection and snapshot.
    pub fn add_stream(
        &mut self,
        sku: &Sku,
        last_sequence: i64,
        state: &CentralStock,
    ) -> Result<(), serde_json::Error> {
        self.stock.extend(StockRow::of(state));
        let id = stream_id(&self.store_id, sku);
        self.snapshots
            .push(SnapshotRow::new(id, last_sequence, state)?);
        Ok(())
    }

    /// Adds idempotency records.
    pub fn add_operations(&mut self, operations: Vec<OperationRow>) {
        self.operations.extend(operations);
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.operations.is_empty()
    }

    /// Writes everything in one statement.
    pub async fn write(self, conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
        if self.is_empty() {
            return Ok(());
        }
        sqlx::query(WRITE_ALL)
            .bind(CentralStock::TYPE)
            .bind(Json(&self))
            .execute(conn)
            .await
            .map(drop)
    }
}
