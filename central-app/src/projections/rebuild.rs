//! `rebuild-projections` for central: what the log says `central_stock`,
//! `transfers` and `reservations` must be (`service_infra::rebuild` runs the procedure).

use std::collections::BTreeMap;

use cqrs_es::Aggregate;
use domain::central::{CentralEvent, CentralStock};
use domain::reservation::{Hold, HoldEvent};
use domain::transfer::{Transfer, TransferEvent};
use service_infra::rebuild::{LoggedEvent, Projections, differences};
use sqlx::PgConnection;

use super::reservations::{self, HoldRow};
use super::stock;
use super::transfers::{self, TransferRow};
use super::write::StockRow;

/// Every stream's state, as the log leaves it (one row per stream, so it
/// is kept whole until the end of the replay).
#[derive(Default)]
pub struct CentralProjections {
    /// Compare with the tables instead of writing them.
    verify: bool,
    states: BTreeMap<String, CentralStock>,
    /// Each transfer and its last sequence.
    transfers: BTreeMap<String, (Transfer, i64)>,
    /// Each hold and its last sequence.
    holds: BTreeMap<String, (Hold, i64)>,
}

impl CentralProjections {
    fn expected(&self) -> BTreeMap<(String, String), StockRow> {
        self.states
            .values()
            .filter_map(StockRow::of)
            .map(|row| ((row.store_id.clone(), row.sku.clone()), row))
            .collect()
    }

    fn expected_holds(&self) -> BTreeMap<String, HoldRow> {
        self.holds
            .values()
            .filter_map(|(state, version)| HoldRow::of(state, *version))
            .map(|row| (row.reservation_id.to_string(), row))
            .collect()
    }

    fn expected_transfers(&self) -> BTreeMap<String, TransferRow> {
        self.transfers
            .values()
            .filter_map(|(state, version)| TransferRow::of(state, *version))
            .map(|row| (row.transfer_id.to_string(), row))
            .collect()
    }
}

impl Projections for CentralProjections {
    const AGGREGATE_TYPES: &'static [&'static str] =
        &[CentralStock::TYPE, Transfer::TYPE, Hold::TYPE];
    const LOCK: &'static str =
        "LOCK TABLE central_stock, transfers, reservations IN EXCLUSIVE MODE";

    async fn begin(_conn: &mut PgConnection, verify: bool) -> anyhow::Result<Self> {
        Ok(Self {
            verify,
            ..Self::default()
        })
    }

    fn apply(&mut self, logged: LoggedEvent) -> anyhow::Result<()> {
        if logged.aggregate_type == Transfer::TYPE {
            let event: TransferEvent = serde_json::from_str(&logged.payload)?;
            let (state, version) = self.transfers.entry(logged.aggregate_id).or_default();
            state.apply(event);
            *version = logged.sequence;
            return Ok(());
        }
        if logged.aggregate_type == Hold::TYPE {
            let event: HoldEvent = serde_json::from_str(&logged.payload)?;
            let (state, version) = self.holds.entry(logged.aggregate_id).or_default();
            state.apply(event);
            *version = logged.sequence;
            return Ok(());
        }
        let event: CentralEvent = serde_json::from_str(&logged.payload)?;
        self.states
            .entry(logged.aggregate_id)
            .or_default()
            .apply(event);
        Ok(())
    }

    async fn flush(&mut self, _conn: &mut PgConnection) -> anyhow::Result<()> {
        Ok(())
    }

    async fn finish(self, conn: &mut PgConnection) -> anyhow::Result<(usize, Vec<String>)> {
        let rows = self.states.values().filter_map(StockRow::of).count()
            + self.transfers.len()
            + self.holds.len();
        if self.verify {
            return Ok((rows, self.differences(conn).await?));
        }
        self.write(conn).await?;
        Ok((rows, Vec::new()))
    }
}

impl CentralProjections {
    /// How the tables differ from what the log yields.
    async fn differences(&self, conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
        let mut found = differences_from(conn, &self.expected()).await?;
        let actual: BTreeMap<String, TransferRow> =
            transfers::page(&mut *conn, None, None, None, i64::MAX)
                .await?
                .into_iter()
                .map(|row| (row.transfer_id.to_string(), row))
                .collect();
        found.extend(differences(
            "transfers",
            &self.expected_transfers(),
            &actual,
        ));
        let actual: BTreeMap<String, HoldRow> =
            reservations::page(&mut *conn, None, None, None, i64::MAX)
                .await?
                .into_iter()
                .map(|row| (row.reservation_id.to_string(), row))
                .collect();
        found.extend(differences("reservations", &self.expected_holds(), &actual));
        Ok(found)
    }

    /// Replaces the tables' rows with what the log yields.
    async fn write(&self, conn: &mut PgConnection) -> anyhow::Result<()> {
        write(conn, &self.expected()).await?;
        write_transfers(conn, &self.expected_transfers()).await?;
        write_holds(conn, &self.expected_holds()).await?;
        Ok(())
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

/// Replaces `transfers` with `rows`.
async fn write_transfers(
    tx: &mut PgConnection,
    rows: &BTreeMap<String, TransferRow>,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM transfers")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<&TransferRow> = rows.values().collect();
    for chunk in rows.chunks(5_000) {
        let json = serde_json::to_value(chunk).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
        sqlx::query(
            "INSERT INTO transfers SELECT * FROM jsonb_populate_recordset(NULL::transfers, $1)",
        )
        .bind(json)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Replaces `reservations` with `rows`.
async fn write_holds(
    tx: &mut PgConnection,
    rows: &BTreeMap<String, HoldRow>,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM reservations")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<&HoldRow> = rows.values().collect();
    for chunk in rows.chunks(5_000) {
        let json = serde_json::to_value(chunk).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
        sqlx::query(
            "INSERT INTO reservations SELECT * FROM jsonb_populate_recordset(NULL::reservations, $1)",
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
