//! Rebuilding `central_stock` from the event log, or checking it against the
//! log without writing.
//!
//! The rebuild runs in one transaction that first locks the projection
//! against writers, so appends that commit meanwhile wait and then write
//! their (complete) stream state on top of the rebuilt rows.

use std::collections::BTreeMap;

use cqrs_es::Aggregate;
use domain::central::{CentralEvent, CentralStock};
use futures_util::TryStreamExt;
use sqlx::{PgConnection, PgPool};

use super::stock;
use super::write::StockRow;

pub use service_infra::rebuild::RebuildReport;
use service_infra::rebuild::{begin, differences};

#[derive(sqlx::FromRow)]
struct EventRow {
    aggregate_id: String,
    payload: serde_json::Value,
}

/// Replays every event into fresh stream states; `progress` is called with
/// the number of events replayed so far, every 1,000 events and at the end.
async fn replay(
    conn: &mut PgConnection,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(BTreeMap<String, CentralStock>, u64), sqlx::Error> {
    let mut states: BTreeMap<String, CentralStock> = BTreeMap::new();
    let mut replayed = 0u64;
    let mut rows = sqlx::query_as::<_, EventRow>(
        "SELECT aggregate_id, payload FROM events WHERE aggregate_type = $1
          ORDER BY aggregate_id, sequence",
    )
    .bind(CentralStock::TYPE)
    .fetch(conn);
    while let Some(row) = rows.try_next().await? {
        let event: CentralEvent = serde_json::from_value(row.payload)
            .map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
        states.entry(row.aggregate_id).or_default().apply(event);
        replayed += 1;
        if replayed.is_multiple_of(1_000) {
            progress(replayed);
        }
    }
    progress(replayed);
    Ok((states, replayed))
}

fn rows_of(states: &BTreeMap<String, CentralStock>) -> BTreeMap<(String, String), StockRow> {
    states
        .values()
        .filter_map(StockRow::of)
        .map(|row| ((row.store_id.clone(), row.sku.clone()), row))
        .collect()
}

/// Rebuilds `central_stock` from the log or, with `verify`, compares it with
/// what the log yields without writing; `progress` is called with the number
/// of events replayed so far.
pub async fn run(
    pool: &PgPool,
    verify: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RebuildReport, sqlx::Error> {
    let mut tx = begin(pool, verify, "LOCK TABLE central_stock IN EXCLUSIVE MODE").await?;
    let (states, events) = replay(&mut tx, progress).await?;
    let expected = rows_of(&states);
    let differences = if verify {
        differences_from(&mut tx, &expected).await?
    } else {
        write(&mut tx, &expected).await?;
        Vec::new()
    };
    tx.commit().await?;
    Ok(RebuildReport {
        events,
        rows: expected.len(),
        differences,
    })
}

/// Replaces `central_stock` with `rows`.
async fn write(
    tx: &mut PgConnection,
    rows: &BTreeMap<(String, String), StockRow>,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM central_stock")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<&StockRow> = rows.values().collect();
    for chunk in rows.chunks(5_000) {
        let json = serde_json::to_value(chunk).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
        sqlx::query(
            "INSERT INTO central_stock (store_id, sku, name, quantity, version)
             SELECT t.store_id, t.sku, t.name, t.quantity, t.version
               FROM jsonb_to_recordset($1) AS t(store_id text, sku text, name text,
                                               quantity bigint, version bigint)",
        )
        .bind(json)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// How `central_stock` differs from `expected` (read in the caller's
/// snapshot).
async fn differences_from(
    tx: &mut PgConnection,
    expected: &BTreeMap<(String, String), StockRow>,
) -> Result<Vec<String>, sqlx::Error> {
    let key = |store_id: &str, sku: &str| format!("{store_id}/{sku}");
    let actual: BTreeMap<String, StockRow> = stock::all(&mut *tx)
        .await?
        .into_iter()
        .map(|row| (key(&row.store_id, &row.sku), row))
        .collect();
    let expected: BTreeMap<String, StockRow> = expected
        .values()
        .map(|row| (key(&row.store_id, &row.sku), row.clone()))
        .collect();
    Ok(differences("central_stock", &expected, &actual))
}
