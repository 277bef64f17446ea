//! The write half of the projections: everything a transaction appends, in
//! one statement — events, `changes`, `counts`, `stock` and snapshots.
//!
//! The rows to update are found by `= ANY(ARRAY(…))` on their primary key,
//! so the plan probes the index whatever the tables' statistics say (a
//! join on a JSON record set, which PostgreSQL always guesses at 100 rows,
//! planned a scan of every snapshot and every change).
//!
//! Every write is guarded by its stream's snapshot: a stream's rows are
//! written only if its snapshot is still at the sequence the commands were
//! decided on (`expected_sequence`; 0 for a new stream). The snapshot update
//! takes the row's lock first, so a stream that moved meanwhile writes
//! nothing and its events are missing from the positions returned: the
//! caller decides again (no lock was needed while deciding).

use std::sync::LazyLock;

use domain::Sku;
use domain::store::{StockEvent, StockItem};
use serde::Serialize;
use service_infra::event_streams::{AppendedAt, EventRow, LockedStream, SnapshotRow};
use sqlx::types::Json;

use super::rows::{
    ChangeRow, ChangeUpdate, CountRow, Settlement, StockRow, change_update, count_row,
};

/// A row written with the event that makes it (joined on its stream and
/// sequence, so it lands only with that event).
#[derive(Serialize)]
struct WithEvent<R> {
    #[serde(flatten)]
    row: R,
    sequence: i64,
}

/// A stream's new snapshot and the sequence its snapshot row was read at.
#[derive(Serialize)]
struct GuardedSnapshot {
    #[serde(flatten)]
    row: SnapshotRow,
    expected_sequence: i64,
    /// Decided as if no hold kept units of the SKU: written only if none
    /// does.
    unheld: bool,
}

/// Rows collected from one transaction's commands, written as one JSON
/// parameter.
#[derive(Default, Serialize)]
pub struct WriteBatch {
    events: Vec<EventRow>,
    new_changes: Vec<WithEvent<ChangeRow>>,
    settlements: Vec<Settlement>,
    counts: Vec<WithEvent<CountRow>>,
    stock: Vec<StockRow>,
    snapshots: Vec<GuardedSnapshot>,
}

/// Moves each existing stream's snapshot, if still at the sequence read,
/// no hold keeps units of a SKU whose sales assumed none (`unheld`), and no
/// count took a new change's operation id (changes have their own key).
const MOVED: &str = r#"moved AS (
    UPDATE snapshots s
       SET last_sequence = n.last_sequence, current_snapshot = n.last_sequence, payload = n.payload
      FROM jsonb_to_recordset($1->'snapshots') AS n(aggregate_id text, expected_sequence bigint,
                                      last_sequence bigint, payload jsonb, unheld boolean)
     WHERE s.aggregate_type = 'StockItem'
       AND s.aggregate_id = ANY(ARRAY(SELECT jsonb_array_elements($1->'snapshots')->>'aggregate_id'))
       AND s.aggregate_id = n.aggregate_id
       AND s.last_sequence = n.expected_sequence AND n.expected_sequence > 0
       AND NOT (n.unheld AND EXISTS (SELECT 1 FROM holds h WHERE h.sku = s.aggregate_id
                                        AND h.status = 'held' AND h.expires_at > now()))
       AND NOT EXISTS (SELECT 1 FROM counts c WHERE c.operation_id = ANY(ARRAY(
               SELECT (jsonb_array_elements($1->'new_changes')->>'operation_id')::uuid)))
    RETURNING s.aggregate_id
)"#;

/// Creates the snapshot of each new stream (expected sequence 0).
const CREATED: &str = r#"created AS (
    INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
    SELECT 'StockItem', n.aggregate_id, n.last_sequence, n.last_sequence, n.payload
      FROM jsonb_to_recordset($1->'snapshots') AS n(aggregate_id text, expected_sequence bigint,
                                      last_sequence bigint, payload jsonb)
     WHERE n.expected_sequence = 0
    ON CONFLICT (aggregate_type, aggregate_id) DO NOTHING
    RETURNING aggregate_id
)"#;

/// Appends the events of the streams whose snapshot moved, in decision order.
const EV: &str = r#"ev AS (
    INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload)
    SELECT 'StockItem', r.aggregate_id, r.sequence, r.event_type, r.event_version, r.payload
      FROM ROWS FROM (jsonb_to_recordset($1->'events') AS (aggregate_id text, sequence bigint,
                      event_type text, event_version text, payload jsonb))
           WITH ORDINALITY AS r(aggregate_id, sequence, event_type, event_version, payload, ord)
     WHERE r.aggregate_id IN (SELECT aggregate_id FROM snap)
     ORDER BY r.ord
    RETURNING aggregate_id, sequence, position
)"#;

/// Inserts the `changes` row of each appended local change.
const NEW_CHANGES: &str = r#"new_changes AS (
    INSERT INTO changes (operation_id, sku, kind, delta, expected_version, reason, client_id, transfer_id,
                         reservation_id, occurred_at, quantity_after, version_after, position, status)
    SELECT c.operation_id, c.sku, c.kind, c.delta, c.expected_version, c.reason, c.client_id, c.transfer_id,
           c.reservation_id, c.occurred_at, c.quantity_after, c.version_after, ev.position, c.status
      FROM jsonb_to_recordset($1->'new_changes') AS c(operation_id uuid, sku text, sequence bigint, kind text, delta bigint,
                                      expected_version bigint, reason text, client_id text, transfer_id uuid,
                                      reservation_id uuid, occurred_at timestamptz,
                                      quantity_after bigint, version_after bigint, status text)
      JOIN ev ON ev.aggregate_id = c.sku AND ev.sequence = c.sequence
)"#;

/// Settles `changes` rows (sync outcomes) of the streams that moved.
const SETTLED: &str = r#"settled AS (
    UPDATE changes
       SET status = s.status, result_code = s.result_code, because_of = s.because_of,
           central_version = s.central_version, central_quantity = s.central_quantity,
           settled_at = s.settled_at
      FROM jsonb_to_recordset($1->'settlements') AS s(operation_id uuid, status text, result_code text,
                                      because_of uuid, central_version bigint,
                                      central_quantity bigint, settled_at timestamptz)
     WHERE changes.operation_id = ANY(ARRAY(
               SELECT (jsonb_array_elements($1->'settlements')->>'operation_id')::uuid))
       AND changes.operation_id = s.operation_id
       AND changes.sku IN (SELECT aggregate_id FROM snap)
)"#;

/// Inserts the `counts` row of each appended count.
const NEW_COUNTS: &str = r#"new_counts AS (
    INSERT INTO counts (operation_id, sku, counted, delta, expected_version, reason, client_id,
                        counted_at, version_after)
    SELECT n.operation_id, n.sku, n.counted, n.delta, n.expected_version, n.reason, n.client_id,
           n.counted_at, n.version_after
      FROM jsonb_to_recordset($1->'counts') AS n(operation_id uuid, sku text, sequence bigint, counted bigint,
                                      delta bigint, expected_version bigint, reason text, client_id text,
                                      counted_at timestamptz, version_after bigint)
      JOIN ev ON ev.aggregate_id = n.sku AND ev.sequence = n.sequence
)"#;

/// Upserts the `stock` row of each stream that moved.
const STOCK_ROWS: &str = r#"stock_rows AS (
    INSERT INTO stock (sku, name, quantity, confirmed_quantity, confirmed_version, version,
                       pending_changes, last_operation_id, last_synced_at, last_counted_at)
    SELECT t.sku, t.name, t.quantity, t.confirmed_quantity, t.confirmed_version, t.version,
           t.pending_changes, t.last_operation_id, t.last_synced_at, t.last_counted_at
      FROM jsonb_to_recordset($1->'stock') AS t(sku text, name text, quantity bigint,
                                      confirmed_quantity bigint, confirmed_version bigint,
                                      version bigint, pending_changes integer,
                                      last_operation_id uuid, last_synced_at timestamptz,
                                      last_counted_at timestamptz)
     WHERE t.sku IN (SELECT aggregate_id FROM snap)
    ON CONFLICT (sku) DO UPDATE
       SET name = EXCLUDED.name, quantity = EXCLUDED.quantity,
           confirmed_quantity = EXCLUDED.confirmed_quantity,
           confirmed_version = EXCLUDED.confirmed_version, version = EXCLUDED.version,
           pending_changes = EXCLUDED.pending_changes,
           last_operation_id = COALESCE(EXCLUDED.last_operation_id, stock.last_operation_id),
           last_synced_at = EXCLUDED.last_synced_at, last_counted_at = EXCLUDED.last_counted_at
)"#;

/// The streams written: those moved, and those created when the batch
/// creates any.
const SNAP_MOVED: &str = "snap AS (SELECT aggregate_id FROM moved)";
const SNAP_ALL: &str =
    "snap AS (SELECT aggregate_id FROM moved UNION ALL SELECT aggregate_id FROM created)";

/// The statement writing everything a batch may hold.
static WRITE_ALL: LazyLock<String> = LazyLock::new(|| {
    statement(&[
        MOVED,
        CREATED,
        SNAP_ALL,
        EV,
        NEW_CHANGES,
        SETTLED,
        NEW_COUNTS,
        STOCK_ROWS,
    ])
});

/// The statement of a batch of local changes to existing streams (group
/// commit): without the parts it would not use, whose plan nodes
/// PostgreSQL would set up on every execution all the same.
static WRITE_CHANGES: LazyLock<String> =
    LazyLock::new(|| statement(&[MOVED, SNAP_MOVED, EV, NEW_CHANGES, STOCK_ROWS]));

fn statement(parts: &[&str]) -> String {
    format!(
        "WITH {}\nSELECT aggregate_id, sequence, position FROM ev",
        parts.join(",\n")
    )
}

impl WriteBatch {
    /// Adds an event appended to `sku`'s stream at `sequence`.
    ///
    /// A batch never both creates and settles one change: commands that
    /// create changes and commands that settle them run in separate calls.
    pub fn add_event(
        &mut self,
        sku: &Sku,
        sequence: i64,
        event: &StockEvent,
    ) -> Result<(), serde_json::Error> {
        let metadata = serde_json::Value::Object(Default::default());
        self.events
            .push(EventRow::new(sku.to_string(), sequence, event, metadata)?);
        match change_update(sku, None, event) {
            Some(ChangeUpdate::Insert(row)) => self.new_changes.push(WithEvent {
                row: *row,
                sequence,
            }),
            Some(ChangeUpdate::Settle(settlement)) => self.settlements.push(settlement),
            None => {}
        }
        self.counts
            .extend(count_row(sku, event).map(|row| WithEvent { row, sequence }));
        Ok(())
    }

    /// Adds the stream's state after its new events; its snapshot is
    /// written only if still where it was read.
    pub fn add_stream(
        &mut self,
        sku: &Sku,
        stream: &LockedStream<StockItem>,
        new_events: &[StockEvent],
        unheld: bool,
    ) -> Result<(), serde_json::Error> {
        self.stock
            .push(StockRow::of(sku, &stream.state, new_events));
        self.snapshots.push(GuardedSnapshot {
            row: SnapshotRow::new(sku.to_string(), stream.sequence, &stream.state)?,
            expected_sequence: stream.snapshot_sequence,
            unheld,
        });
        Ok(())
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Writes everything in one statement; returns the appended positions
    /// (none for a stream that moved since it was decided).
    pub async fn write(
        self,
        conn: &mut sqlx::PgConnection,
    ) -> Result<Vec<AppendedAt>, sqlx::Error> {
        let only_changes = self.settlements.is_empty()
            && self.counts.is_empty()
            && self.snapshots.iter().all(|s| s.expected_sequence > 0);
        let statement = if only_changes {
            &WRITE_CHANGES
        } else {
            &WRITE_ALL
        };
        sqlx::query_as(statement)
            .bind(Json(&self))
            .fetch_all(conn)
            .await
    }
}
