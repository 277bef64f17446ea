//! `rebuild-projections` for the store: what the log says `stock`,
//! `changes`, `counts` and the snapshots must be (`service_infra::rebuild` runs the
//! procedure).

use std::collections::{BTreeMap, HashMap};

use cqrs_es::Aggregate;
use domain::Sku;
use domain::store::{StockEvent, StockItem};
use service_infra::rebuild::{LoggedEvent, Projections, differences};
use sqlx::PgConnection;
use uuid::Uuid;

use super::rows::{ChangeRow, ChangeUpdate, CountRow, StockRow, change_update, count_row};

/// What the log says the projections must be.
#[derive(Default)]
pub struct StoreProjections {
    items: BTreeMap<Sku, (StockItem, i64)>,
    last_operation: HashMap<Sku, Uuid>,
    changes: BTreeMap<Uuid, ChangeRow>,
    counts: BTreeMap<Uuid, CountRow>,
}

impl Projections for StoreProjections {
    const AGGREGATE_TYPES: &'static [&'static str] = &[StockItem::TYPE];
    const LOCK: &'static str = "LOCK TABLE events IN SHARE MODE";

    fn apply(&mut self, logged: LoggedEvent) -> anyhow::Result<()> {
        let sku: Sku = logged.aggregate_id.parse()?;
        let event: StockEvent = serde_json::from_value(logged.payload)?;
        match change_update(&sku, Some(logged.position), &event) {
            Some(ChangeUpdate::Insert(change)) => {
                self.last_operation.insert(sku.clone(), change.operation_id);
                self.changes.insert(change.operation_id, *change);
            }
            Some(ChangeUpdate::Settle(settlement)) => {
                if let Some(change) = self.changes.get_mut(&settlement.operation_id) {
                    change.settle(&settlement);
                }
            }
            None => {}
        }
        if let Some(count) = count_row(&sku, &event) {
            self.counts.insert(count.operation_id, count);
        }
        let (item, sequence) = self.items.entry(sku).or_default();
        item.apply(event);
        *sequence = logged.sequence;
        Ok(())
    }

    fn rows(&self) -> usize {
        self.items.len() + self.changes.len() + self.counts.len()
    }

    async fn differences(&self, conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
        compare(conn, self).await
    }

    async fn write(&self, conn: &mut PgConnection) -> anyhow::Result<()> {
        write(conn, self).await
    }
}

fn stock_rows(replayed: &StoreProjections) -> Vec<StockRow> {
    replayed
        .items
        .iter()
        .map(|(sku, (item, _))| StockRow {
            last_operation_id: replayed.last_operation.get(sku).copied(),
            ..StockRow::of(sku, item, &[])
        })
        .collect()
}

async fn compare(
    conn: &mut PgConnection,
    replayed: &StoreProjections,
) -> anyhow::Result<Vec<String>> {
    let actual_stock: Vec<StockRow> = sqlx::query_as(
        "SELECT sku, name, quantity, confirmed_quantity, confirmed_version, version,
                pending_changes, last_operation_id, last_synced_at, last_counted_at
           FROM stock ORDER BY sku",
    )
    .fetch_all(&mut *conn)
    .await?;
    let actual_changes: Vec<ChangeRow> = sqlx::query_as(
        "SELECT operation_id, sku, position, kind, delta, expected_version, reason, client_id, transfer_id,
                reservation_id, occurred_at,
                quantity_after, version_after, status, result_code, because_of,
                central_version, central_quantity, settled_at
           FROM changes ORDER BY operation_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let actual_counts: Vec<CountRow> = sqlx::query_as(
        "SELECT operation_id, sku, counted, delta, expected_version, reason, client_id, counted_at,
                version_after
           FROM counts ORDER BY operation_id",
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
    let counts_by_operation = |rows: Vec<CountRow>| -> BTreeMap<String, CountRow> {
        rows.into_iter()
            .map(|r| (r.operation_id.to_string(), r))
            .collect()
    };
    found.extend(differences(
        "counts",
        &counts_by_operation(replayed.counts.values().cloned().collect()),
        &counts_by_operation(actual_counts),
    ));
    Ok(found)
}

async fn write(conn: &mut PgConnection, replayed: &StoreProjections) -> anyhow::Result<()> {
    // The worker's retry and quarantine bookkeeping is not in the log:
    // keep it.
    sqlx::query(
        "CREATE TEMP TABLE retry_state ON COMMIT DROP AS
         SELECT operation_id, attempts, last_error, next_attempt_at, quarantined_at
           FROM changes WHERE attempts > 0 OR quarantined_at IS NOT NULL",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("TRUNCATE stock, changes, counts")
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
            "INSERT INTO changes (operation_id, sku, position, kind, delta, expected_version, reason,
                                  client_id, transfer_id, reservation_id, occurred_at, quantity_after,
                                  version_after, status, result_code, because_of, central_version,
                                  central_quantity, settled_at)
             SELECT operation_id, sku, position, kind, delta, expected_version, reason, client_id,
                    transfer_id, reservation_id, occurred_at,
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
                next_attempt_at = r.next_attempt_at, quarantined_at = r.quarantined_at
           FROM retry_state r WHERE changes.operation_id = r.operation_id",
    )
    .execute(&mut *conn)
    .await?;
    let counts: Vec<&CountRow> = replayed.counts.values().collect();
    for chunk in counts.chunks(1000) {
        sqlx::query("INSERT INTO counts SELECT * FROM jsonb_populate_recordset(NULL::counts, $1)")
            .bind(serde_json::to_value(chunk)?)
            .execute(&mut *conn)
            .await?;
    }
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
