//! `rebuild-projections`: replays the whole log into fresh `stock`, `changes`
//! and snapshot rows, or (`--verify`) compares what the log implies with what
//! the tables hold, without writing.

use std::collections::{BTreeMap, HashMap};

pub use service_infra::rebuild::RebuildReport;
use service_infra::rebuild::{begin, differences};

use cqrs_es::Aggregate;
use domain::Sku;
use domain::store::{StockEvent, StockItem};
use futures_util::TryStreamExt;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::rows::{ChangeRow, ChangeUpdate, StockRow, change_update};

/// What the log says the projections must be.
#[derive(Default)]
struct Replayed {
    items: BTreeMap<Sku, (StockItem, i64)>,
    last_operation: HashMap<Sku, Uuid>,
    changes: BTreeMap<Uuid, ChangeRow>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    aggregate_id: String,
    sequence: i64,
    position: i64,
    payload: serde_json::Value,
}

/// Rebuilds (or, with `verify`, checks) the projections; `progress` is
/// called with the number of events replayed so far.
pub async fn run(
    pool: &PgPool,
    verify: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<RebuildReport> {
    let mut tx = begin(pool, verify, "LOCK TABLE events IN SHARE MODE").await?;
    let (replayed, events) = replay(&mut tx, progress).await?;
    let rows = replayed.items.len() + replayed.changes.len();
    if verify {
        let differences = compare(&mut tx, &replayed).await?;
        tx.rollback().await?;
        return Ok(RebuildReport {
            events,
            rows,
            differences,
        });
    }
    write(&mut tx, &replayed).await?;
    tx.commit().await?;
    Ok(RebuildReport {
        events,
        rows,
        differences: Vec::new(),
    })
}

async fn replay(
    conn: &mut PgConnection,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<(Replayed, u64)> {
    let mut replayed = Replayed::default();
    let mut events = 0u64;
    let mut rows = sqlx::query_as::<_, EventRow>(
        "SELECT aggregate_id, sequence, position, payload FROM events
          WHERE aggregate_type = $1 ORDER BY aggregate_id, sequence",
    )
    .bind(StockItem::TYPE)
    .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let sku: Sku = row.aggregate_id.parse()?;
        let event: StockEvent = serde_json::from_value(row.payload)?;
        match change_update(&sku, Some(row.position), &event) {
            Some(ChangeUpdate::Insert(change)) => {
                replayed
                    .last_operation
                    .insert(sku.clone(), change.operation_id);
                replayed.changes.insert(change.operation_id, change);
            }
            Some(ChangeUpdate::Settle(settlement)) => {
                if let Some(change) = replayed.changes.get_mut(&settlement.operation_id) {
                    change.settle(&settlement);
                }
            }
            None => {}
        }
        let (item, sequence) = replayed.items.entry(sku).or_default();
        item.apply(event);
        *sequence = row.sequence;
        events += 1;
        if events.is_multiple_of(1_000) {
            progress(events);
        }
    }
    progress(events);
    Ok((replayed, events))
}

fn stock_rows(replayed: &Replayed) -> Vec<StockRow> {
    replayed
        .items
        .iter()
        .map(|(sku, (item, _))| StockRow {
            last_operation_id: replayed.last_operation.get(sku).copied(),
            ..StockRow::of(sku, item, &[])
        })
        .collect()
}

async fn compare(conn: &mut PgConnection, replayed: &Replayed) -> anyhow::Result<Vec<String>> {
    let actual_stock: Vec<StockRow> = sqlx::query_as(
        "SELECT sku, name, quantity, confirmed_quantity, confirmed_version, version,
                pending_changes, last_operation_id, last_synced_at FROM stock ORDER BY sku",
    )
    .fetch_all(&mut *conn)
    .await?;
    let actual_changes: Vec<ChangeRow> = sqlx::query_as(
        "SELECT operation_id, sku, position, delta, expected_version, reason, occurred_at,
                quantity_after, version_after, status, result_code, because_of,
                central_version, central_quantity, settled_at
           FROM changes ORDER BY operation_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let by_sku = |rows: Vec<StockRow>| -> BTreeMap<String, StockRow> {
        rows.into_iter().map(|r| (r.sku.clone(), r)).collect()
    };
    let by_operation = |rows: Vec<ChangeRow>| -> BTreeMap<String, ChangeRow> {
        rows.into_iter()
            .map(|r| (r.operation_id.to_string(), r))
            .collect()
    };
    let mut found = differences(
        "stock",
        &by_sku(stock_rows(replayed)),
        &by_sku(actual_stock),
    );
    found.extend(differences(
        "changes",
        &by_operation(replayed.changes.values().cloned().collect()),
        &by_operation(actual_changes),
    ));
    Ok(found)
}

async fn write(conn: &mut PgConnection, replayed: &Replayed) -> anyhow::Result<()> {
    // The worker's retry bookkeeping is not in the log: keep it.
    sqlx::query(
        "CREATE TEMP TABLE retry_state ON COMMIT DROP AS
         SELECT operation_id, attempts, last_error, next_attempt_at FROM changes WHERE attempts > 0",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("TRUNCATE stock, changes")
        .execute(&mut *conn)
        .await?;
    for chunk in stock_rows(replayed).chunks(1000) {
        sqlx::query("INSERT INTO stock SELECT * FROM jsonb_populate_recordset(NULL::stock, $1)")
            .bind(serde_json::to_value(chunk)?)
            .execute(&mut *conn)
            .await?;
    }
    let changes: Vec<&ChangeRow> = replayed.changes.values().collect();
    for chunk in changes.chunks(1000) {
        sqlx::query(
            "INSERT INTO changes (operation_id, sku, position, delta, expected_version, reason,
                                  occurred_at, quantity_after, version_after, status, result_code,
                                  because_of, central_version, central_quantity, settled_at)
             SELECT operation_id, sku, position, delta, expected_version, reason, occurred_at,
                    quantity_after, version_after, status, result_code, because_of,
                    central_version, central_quantity, settled_at
               FROM jsonb_populate_recordset(NULL::changes, $1)",
        )
        .bind(serde_json::to_value(chunk)?)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "UPDATE changes SET attempts = r.attempts, last_error = r.last_error,
                next_attempt_at = r.next_attempt_at
           FROM retry_state r WHERE changes.operation_id = r.operation_id",
    )
    .execute(&mut *conn)
    .await?;
    let snapshots: Vec<serde_json::Value> = replayed
        .items
        .iter()
        .map(|(sku, (item, sequence))| {
            serde_json::json!({ "aggregate_id": sku, "last_sequence": sequence, "payload": item })
        })
        .collect();
    for chunk in snapshots.chunks(1000) {
        sqlx::query(
            "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
             SELECT $1, n.aggregate_id, n.last_sequence, n.last_sequence, n.payload
               FROM jsonb_to_recordset($2) AS n(aggregate_id text, last_sequence bigint, payload jsonb)
             ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
                SET last_sequence = EXCLUDED.last_sequence,
                    current_snapshot = EXCLUDED.current_snapshot, payload = EXCLUDED.payload",
        )
        .bind(StockItem::TYPE)
        .bind(serde_json::Value::Array(chunk.to_vec()))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
