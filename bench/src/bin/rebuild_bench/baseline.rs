//! The baseline: PostgreSQL itself turning the same log into the same
//! projection rows, one `INSERT … SELECT` from `events` per table, into
//! scratch tables shaped like the real ones (`LIKE … INCLUDING ALL`, so
//! with the same indexes), in one transaction as the rebuild's. Then a
//! check that its rows equal the rows the rebuild wrote, so the two sides
//! did the same work.

use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

/// The scratch tables and the statements that fill them.
const CREATE: &str = "
CREATE TABLE baseline_stock (LIKE stock INCLUDING ALL);
CREATE TABLE baseline_changes (LIKE changes INCLUDING ALL);
CREATE TABLE baseline_counts (LIKE counts INCLUDING ALL);
CREATE TABLE baseline_snapshots (LIKE snapshots INCLUDING ALL);";

/// Every `changes` row: each `StockAdjusted` with its settlement, if any.
const CHANGES: &str = "
INSERT INTO baseline_changes (operation_id, sku, position, kind, delta, expected_version, reason,
                              client_id, transfer_id, reservation_id, occurred_at, quantity_after,
                              version_after, status, result_code, because_of, central_version,
                              central_quantity, settled_at)
SELECT (a.p->>'operation_id')::uuid, a.sku, a.position, coalesce(a.p->>'kind', 'adjustment'),
       (a.p->>'delta')::bigint, (a.p->>'expected_version')::bigint, a.p->>'reason', a.p->>'client',
       (a.p->>'transfer')::uuid, (a.p->>'reservation')::uuid, (a.p->>'at')::timestamptz,
       (a.p->>'quantity')::bigint, (a.p->>'version')::bigint,
       CASE s.event_type WHEN 'ChangeSynced' THEN 'synced' WHEN 'ChangeRejected' THEN 'rejected'
                         ELSE 'pending' END,
       s.p->>'reason', (s.p->>'because_of')::uuid, (s.p->>'central_version')::bigint,
       (s.p->>'central_quantity')::bigint, (s.p->>'at')::timestamptz
  FROM (SELECT aggregate_id AS sku, position, payload->'StockAdjusted' AS p FROM events
         WHERE aggregate_type = 'StockItem' AND event_type = 'StockAdjusted') AS a
  LEFT JOIN (SELECT event_type, payload->event_type AS p FROM events
              WHERE aggregate_type = 'StockItem'
                AND event_type IN ('ChangeSynced', 'ChangeRejected')) AS s
    ON (s.p->>'operation_id')::uuid = (a.p->>'operation_id')::uuid";

/// Every `counts` row: counts that matched and counts that moved stock.
const COUNTS: &str = "
INSERT INTO baseline_counts (operation_id, sku, counted, delta, expected_version, reason,
                             client_id, counted_at, version_after)
SELECT (p->>'operation_id')::uuid, sku,
       CASE event_type WHEN 'StockCounted' THEN (p->>'counted')::bigint
                       ELSE (p->>'quantity')::bigint END,
       CASE event_type WHEN 'StockCounted' THEN 0 ELSE (p->>'delta')::bigint END,
       (p->>'expected_version')::bigint, p->>'reason', p->>'client', (p->>'at')::timestamptz,
       (p->>'version')::bigint
  FROM (SELECT aggregate_id AS sku, event_type, payload->event_type AS p FROM events
         WHERE aggregate_type = 'StockItem'
           AND (event_type = 'StockCounted'
                OR (event_type = 'StockAdjusted' AND payload->'StockAdjusted'->>'kind' = 'count'))) AS e";

/// The `stock` row and the snapshot of every SKU, from one pass that finds
/// each SKU's last events of each sort (the confirmed figures are those of
/// the highest central version, the later on a tie, as the aggregate takes
/// them).
const STOCK_AND_SNAPSHOTS: &str = "
WITH marks AS (
  SELECT aggregate_id AS sku, max(sequence) AS last_seq,
         max(sequence) FILTER (WHERE event_type = 'ItemRegistered') AS registered_seq,
         max(sequence) FILTER (WHERE event_type = 'StockAdjusted') AS adjusted_seq,
         max(sequence) FILTER (WHERE event_type IN ('ChangeSynced', 'ChangeRejected',
                                                    'CentralChangeApplied')) AS synced_seq,
         max(sequence) FILTER (WHERE event_type = 'StockCounted'
                                  OR payload->'StockAdjusted'->>'kind' = 'count') AS counted_seq,
         max(ARRAY[(payload->event_type->>'central_version')::bigint, sequence])
           FILTER (WHERE event_type IN ('ChangeSynced', 'ChangeRejected',
                                        'CentralChangeApplied')) AS confirmed
    FROM events WHERE aggregate_type = 'StockItem' GROUP BY aggregate_id),
rows AS (
  SELECT m.sku, m.last_seq, r.payload->'ItemRegistered'->>'name' AS name,
         (l.payload->l.event_type->>'quantity')::bigint AS quantity,
         (l.payload->l.event_type->>'version')::bigint AS version,
         coalesce((c.payload->c.event_type->>'central_quantity')::bigint,
                  (r.payload->'ItemRegistered'->>'quantity')::bigint) AS confirmed_quantity,
         coalesce(m.confirmed[1], 0) AS confirmed_version,
         (a.payload->'StockAdjusted'->>'operation_id')::uuid AS last_operation_id,
         (y.payload->y.event_type->>'at')::timestamptz AS last_synced_at,
         (k.payload->k.event_type->>'at')::timestamptz AS last_counted_at
    FROM marks m
    JOIN events l ON (l.aggregate_type, l.aggregate_id, l.sequence) = ('StockItem', m.sku, m.last_seq)
    JOIN events r ON (r.aggregate_type, r.aggregate_id, r.sequence) = ('StockItem', m.sku, m.registered_seq)
    LEFT JOIN events c ON (c.aggregate_type, c.aggregate_id, c.sequence) = ('StockItem', m.sku, m.confirmed[2])
    LEFT JOIN events a ON (a.aggregate_type, a.aggregate_id, a.sequence) = ('StockItem', m.sku, m.adjusted_seq)
    LEFT JOIN events y ON (y.aggregate_type, y.aggregate_id, y.sequence) = ('StockItem', m.sku, m.synced_seq)
    LEFT JOIN events k ON (k.aggregate_type, k.aggregate_id, k.sequence) = ('StockItem', m.sku, m.counted_seq)),
stock AS (
  INSERT INTO baseline_stock (sku, name, quantity, confirmed_quantity, confirmed_version, version,
                              pending_changes, last_operation_id, last_synced_at, last_counted_at)
  SELECT sku, name, quantity, confirmed_quantity, confirmed_version, version,
         version - confirmed_version, last_operation_id, last_synced_at, last_counted_at
    FROM rows)
INSERT INTO baseline_snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
SELECT 'StockItem', sku, last_seq, last_seq,
       jsonb_build_object('sku', sku, 'name', name, 'confirmed_quantity', confirmed_quantity,
                          'confirmed_version', confirmed_version, 'quantity', quantity,
                          'version', version, 'last_synced_at', last_synced_at,
                          'last_counted_at', last_counted_at)
  FROM rows";

/// The rows in which the baseline and the rebuilt tables differ, both
/// ways (the retry bookkeeping of `changes` left out; snapshots compared
/// by their figures, since JSON spells a time in more than one way).
const DIFFERENCES: &str = "
WITH s AS (SELECT aggregate_type, aggregate_id, last_sequence, current_snapshot,
                  payload - 'last_synced_at' - 'last_counted_at' AS figures,
                  (payload->>'last_synced_at')::timestamptz AS synced,
                  (payload->>'last_counted_at')::timestamptz AS counted
             FROM snapshots),
     b AS (SELECT aggregate_type, aggregate_id, last_sequence, current_snapshot,
                  payload - 'last_synced_at' - 'last_counted_at' AS figures,
                  (payload->>'last_synced_at')::timestamptz AS synced,
                  (payload->>'last_counted_at')::timestamptz AS counted
             FROM baseline_snapshots),
     c AS (SELECT operation_id, sku, position, kind, delta, expected_version, reason, client_id,
                  transfer_id, reservation_id, occurred_at, quantity_after, version_after, status,
                  result_code, because_of, central_version, central_quantity, settled_at
             FROM changes),
     bc AS (SELECT operation_id, sku, position, kind, delta, expected_version, reason, client_id,
                   transfer_id, reservation_id, occurred_at, quantity_after, version_after, status,
                   result_code, because_of, central_version, central_quantity, settled_at
              FROM baseline_changes)
SELECT (SELECT count(*) FROM ((TABLE stock EXCEPT TABLE baseline_stock)
                              UNION ALL (TABLE baseline_stock EXCEPT TABLE stock)) d)
     + (SELECT count(*) FROM ((TABLE counts EXCEPT TABLE baseline_counts)
                              UNION ALL (TABLE baseline_counts EXCEPT TABLE counts)) d)
     + (SELECT count(*) FROM ((TABLE c EXCEPT TABLE bc) UNION ALL (TABLE bc EXCEPT TABLE c)) d)
     + (SELECT count(*) FROM ((TABLE s EXCEPT TABLE b) UNION ALL (TABLE b EXCEPT TABLE s)) d)";

/// What the baseline took and wrote.
#[derive(Debug)]
pub struct Baseline {
    pub elapsed: Duration,
    /// Rows written: stock, changes, counts, snapshots.
    pub rows: u64,
}

/// Creates the scratch tables, then times the four `INSERT … SELECT`s in
/// one transaction.
pub async fn run(conn: &mut PgConnection) -> anyhow::Result<Baseline> {
    sqlx::raw_sql(CREATE).execute(&mut *conn).await?;
    let started = Instant::now();
    let mut tx = conn.begin().await?;
    let mut rows = 0;
    for statement in [CHANGES, COUNTS, STOCK_AND_SNAPSHOTS] {
        rows += sqlx::query(statement)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    let elapsed = started.elapsed();
    // The data-modifying CTE's stock rows are not in rows_affected.
    let stock: i64 = sqlx::query_scalar("SELECT count(*) FROM baseline_stock")
        .fetch_one(&mut *conn)
        .await?;
    Ok(Baseline {
        elapsed,
        rows: rows + u64::try_from(stock)?,
    })
}

/// How many rows differ between the baseline's tables and the rebuilt ones
/// (0 when both sides wrote the same rows).
pub async fn differences(conn: &mut PgConnection) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(DIFFERENCES)
        .fetch_one(&mut *conn)
        .await?)
}
