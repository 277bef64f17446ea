//! The store log the rebuild replays, made by PostgreSQL in one
//! `INSERT … SELECT` over `generate_series`: `--skus` SKUs
//! (`BENCH-SKU-0001`…), each registered with 1,000 units, then a
//! repeating cycle of ten events per SKU, interleaved across SKUs in the
//! global order as a busy store's are. Every event carries the figures the
//! store aggregate would give it, so the rebuilt rows are those a live
//! store would have:
//!
//! | phase | event | change row | count row |
//! |---|---|---|---|
//! | 0 | `StockAdjusted` sale −1 | yes | |
//! | 1 | `StockAdjusted` receipt +3 | yes | |
//! | 2, 3 | `ChangeSynced` of phases 0 and 1 | | |
//! | 4 | `StockCounted` (the shelf matches) | | yes |
//! | 5 | `StockAdjusted` adjustment −1, compare-and-set | yes | |
//! | 6 | `ChangeRejected` of phase 5 (`version_conflict`) | | |
//! | 7 | `CentralChangeApplied` +1 | | |
//! | 8 | `StockAdjusted` count +1 | yes | yes |
//! | 9 | `ChangeSynced` of phase 8 | | |
//!
//! A cycle leaves quantity +4 and version +4, everything settled; operation
//! ids are `md5(sku:sequence)` as UUIDs, so each is unique.

use sqlx::PgConnection;

/// Fills the empty `events` table with `events` events over `skus` SKUs
/// (`events / skus` per SKU, at least one: the registration).
pub async fn fill(conn: &mut PgConnection, events: u64, skus: u64) -> anyhow::Result<u64> {
    let per_sku = i64::try_from((events / skus).max(1))?;
    let skus = i64::try_from(skus)?;
    sqlx::query(FILL)
        .bind(per_sku)
        .bind(skus)
        .execute(&mut *conn)
        .await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&mut *conn)
        .await?;
    Ok(u64::try_from(count)?)
}

/// `$1` events per SKU, `$2` SKUs; `q`/`v` are a SKU's quantity and
/// version at the start of its cycle.
const FILL: &str = r#"
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload)
SELECT 'StockItem', g.sku, g.n, e.name, '1.0', jsonb_build_object(e.name, e.body)
  FROM (SELECT n, format('BENCH-SKU-%s', lpad(s::text, 4, '0')) AS sku,
               (n - 2) % 10 AS phase,
               1000 + 4 * ((n - 2) / 10) AS q, 4 * ((n - 2) / 10) AS v,
               timestamptz '2026-01-01 00:00:00+00' + (n * $2 + s) * interval '1 millisecond' AS at
          FROM generate_series(1, $1::bigint) AS n, generate_series(1, $2::bigint) AS s
         ORDER BY n, s) AS g
 CROSS JOIN LATERAL (
   SELECT md5(g.sku || ':' || g.n)::uuid AS op,
          md5(g.sku || ':' || (g.n - 1))::uuid AS op1,
          md5(g.sku || ':' || (g.n - 2))::uuid AS op2
 ) AS ids
 CROSS JOIN LATERAL (
   SELECT CASE WHEN g.n = 1 THEN 'ItemRegistered'
               ELSE (ARRAY['StockAdjusted', 'StockAdjusted', 'ChangeSynced', 'ChangeSynced',
                           'StockCounted', 'StockAdjusted', 'ChangeRejected',
                           'CentralChangeApplied', 'StockAdjusted', 'ChangeSynced'])[g.phase + 1]
          END AS name,
          CASE WHEN g.n = 1 THEN jsonb_build_object(
                 'sku', g.sku, 'name', 'Bench item ' || g.sku, 'quantity', 1000, 'at', g.at)
               WHEN g.phase = 0 THEN jsonb_build_object(
                 'operation_id', ids.op, 'kind', 'sale', 'delta', -1, 'expected_version', NULL,
                 'reason', NULL, 'client', 'till-1', 'at', g.at,
                 'quantity', g.q - 1, 'version', g.v + 1)
               WHEN g.phase = 1 THEN jsonb_build_object(
                 'operation_id', ids.op, 'kind', 'receipt', 'delta', 3, 'expected_version', NULL,
                 'reason', 'delivery', 'client', 'manager-1', 'at', g.at,
                 'quantity', g.q + 2, 'version', g.v + 2)
               WHEN g.phase = 2 THEN jsonb_build_object(
                 'operation_id', ids.op2, 'central_version', g.v + 1, 'central_quantity', g.q - 1,
                 'at', g.at, 'quantity', g.q + 2, 'version', g.v + 2)
               WHEN g.phase = 3 THEN jsonb_build_object(
                 'operation_id', ids.op2, 'central_version', g.v + 2, 'central_quantity', g.q + 2,
                 'at', g.at, 'quantity', g.q + 2, 'version', g.v + 2)
               WHEN g.phase = 4 THEN jsonb_build_object(
                 'operation_id', ids.op, 'counted', g.q + 2, 'expected_version', NULL,
                 'reason', 'cycle count', 'client', 'manager-1', 'at', g.at,
                 'quantity', g.q + 2, 'version', g.v + 2)
               WHEN g.phase = 5 THEN jsonb_build_object(
                 'operation_id', ids.op, 'kind', 'adjustment', 'delta', -1,
                 'expected_version', g.v + 2, 'reason', 'shelf check', 'client', 'till-2',
                 'at', g.at, 'quantity', g.q + 1, 'version', g.v + 3)
               WHEN g.phase = 6 THEN jsonb_build_object(
                 'operation_id', ids.op1, 'reason', 'version_conflict', 'because_of', NULL,
                 'central_version', g.v + 2, 'central_quantity', g.q + 2,
                 'at', g.at, 'quantity', g.q + 2, 'version', g.v + 2)
               WHEN g.phase = 7 THEN jsonb_build_object(
                 'operation_id', ids.op, 'delta', 1, 'central_version', g.v + 3,
                 'central_quantity', g.q + 3, 'at', g.at, 'quantity', g.q + 3, 'version', g.v + 3)
               WHEN g.phase = 8 THEN jsonb_build_object(
                 'operation_id', ids.op, 'kind', 'count', 'delta', 1, 'expected_version', g.v + 3,
                 'reason', 'count', 'client', 'manager-1', 'at', g.at,
                 'quantity', g.q + 4, 'version', g.v + 4)
               ELSE jsonb_build_object(
                 'operation_id', ids.op1, 'central_version', g.v + 4, 'central_quantity', g.q + 4,
                 'at', g.at, 'quantity', g.q + 4, 'version', g.v + 4)
          END AS body
 ) AS e
"#;
