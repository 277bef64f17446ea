//! `rebuild-projections` for central: what the log says `central_stock`
//! must be (`service_infra::rebuild` runs the procedure).

use std::collections::BTreeMap;

use cqrs_es::Aggregate;
use domain::central::{CentralEvent, CentralStock};
use service_infra::rebuild::{LoggedEvent, Projections, differences};
use sqlx::PgConnection;

use super::stock;
use super::write::StockRow;

/// Every stream's state, as the log leaves it.
#[derive(Default)]
pub struct CentralProjections {
    states: BTreeMap<String, CentralStock>,
}

impl CentralProjections {
    fn expected(&self) -> BTreeMap<(String, String), StockRow> {
        self.states
            .values()
            .filter_map(StockRow::of)
            .map(|row| ((row.store_id.clone(), row.sku.clone()), row))
            .collect()
    }
}

impl Projections for CentralProjections {
    const AGGREGATE_TYPE: &'static str = CentralStock::TYPE;
    const LOCK: &'static str = "LOCK TABLE central_stock IN EXCLUSIVE MODE";

    fn apply(&mut self, logged: LoggedEvent) -> anyhow::Result<()> {
        let event: CentralEvent = serde_json::from_value(logged.payload)?;
        self.states
            .entry(logged.aggregate_id)
            .or_default()
            .apply(event);
        Ok(())
    }

    fn rows(&self) -> usize {
        self.states.values().filter_map(StockRow::of).count()
    }

    async fn differences(&self, conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
        Ok(differences_from(conn, &self.expected()).await?)
    }

    async fn write(&self, conn: &mut PgConnection) -> anyhow::Result<()> {
        Ok(write(conn, &self.expected()).await?)
    }
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
