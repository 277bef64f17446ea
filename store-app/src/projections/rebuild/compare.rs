//! A verification's comparison: PostgreSQL finds the keys whose rows differ
//! between the temporary `rebuilt_*` tables (what the log yields) and the
//! projections, both ways; only those rows are read back and reported, in
//! `service_infra::rebuild::differences`' words.

use std::collections::BTreeMap;
use std::fmt::Debug;

use service_infra::rebuild::differences as report;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection};

use super::super::rows::{ChangeRow, CountRow, StockRow};
use super::copy::COUNT_COLUMNS;
use super::tables::CHANGE_COLUMNS;

/// One projection as the comparison sees it.
struct Projection {
    table: &'static str,
    /// Its key column and the key's SQL type.
    key: &'static str,
    key_type: &'static str,
    /// The columns the log defines.
    columns: &'static str,
}

const STOCK: Projection = Projection {
    table: "stock",
    key: "sku",
    key_type: "text",
    columns: "sku, name, quantity, confirmed_quantity, confirmed_version, version, \
              pending_changes, last_operation_id, last_synced_at, last_counted_at",
};

const CHANGES: Projection = Projection {
    table: "changes",
    key: "operation_id",
    key_type: "uuid",
    columns: CHANGE_COLUMNS,
};

const COUNTS: Projection = Projection {
    table: "counts",
    key: "operation_id",
    key_type: "uuid",
    columns: COUNT_COLUMNS,
};

/// How `stock`, `changes` and `counts` differ from the `rebuilt_*` tables.
pub async fn differences(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    let mut found = compare::<StockRow>(conn, &STOCK, |row| row.sku.clone()).await?;
    found.extend(compare::<ChangeRow>(conn, &CHANGES, |row| row.operation_id.to_string()).await?);
    found.extend(compare::<CountRow>(conn, &COUNTS, |row| row.operation_id.to_string()).await?);
    Ok(found)
}

/// The differences of one projection.
async fn compare<T>(
    conn: &mut PgConnection,
    projection: &Projection,
    key_of: fn(&T) -> String,
) -> anyhow::Result<Vec<String>>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin + PartialEq + Debug,
{
    let Projection {
        table,
        key,
        key_type,
        columns,
    } = projection;
    let keys: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT coalesce(e.{key}, a.{key})::text
           FROM (SELECT {columns} FROM rebuilt_{table}) AS e
           FULL JOIN (SELECT {columns} FROM {table}) AS a ON e.{key} = a.{key}
          WHERE ROW(e.*) IS DISTINCT FROM ROW(a.*)"
    ))
    .fetch_all(&mut *conn)
    .await?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = async |source: String| -> anyhow::Result<BTreeMap<String, T>> {
        let rows: Vec<T> = sqlx::query_as(&format!(
            "SELECT {columns} FROM {source} WHERE {key} = ANY($1::text[]::{key_type}[])"
        ))
        .bind(&keys)
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows.into_iter().map(|row| (key_of(&row), row)).collect())
    };
    let expected = rows(format!("rebuilt_{table}")).await?;
    let actual = rows((*table).to_owned()).await?;
    Ok(report(table, &expected, &actual))
}
