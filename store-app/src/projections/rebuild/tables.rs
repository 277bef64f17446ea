//! Where a rebuild's rows go: the projection tables themselves (emptied
//! first, the worker's retry bookkeeping kept aside and put back), or,
//! when verifying, temporary `rebuilt_*` tables of the same shape. Change
//! and count rows go in with `COPY`, the few others in chunks of 5,000, one
//! JSON parameter each.

use cqrs_es::Aggregate;
use domain::store::StockItem;
use serde::Serialize;
use sqlx::PgConnection;
use sqlx::types::Json;

use super::super::rows::{ChangeRow, CountRow, StockRow};
use super::copy;

/// Rows per statement.
const CHUNK: usize = 5_000;

/// The columns of `changes` the log defines.
pub const CHANGE_COLUMNS: &str = "operation_id, sku, position, kind, delta, expected_version, \
     reason, client_id, transfer_id, reservation_id, occurred_at, quantity_after, version_after, \
     status, result_code, because_of, central_version, central_quantity, settled_at";

/// Where the rows go.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// `stock`, `changes`, `counts` and `snapshots`: a rebuild.
    Tables,
    /// `rebuilt_stock`, `rebuilt_changes` and `rebuilt_counts`, dropped
    /// with the transaction: a verification.
    Temporary,
}

impl Target {
    /// The table that takes the rows of projection `table`.
    fn table(self, table: &str) -> String {
        match self {
            Self::Tables => table.to_owned(),
            Self::Temporary => format!("rebuilt_{table}"),
        }
    }

    /// Empties the tables, keeping the retry bookkeeping aside (it is not
    /// in the log), or creates the temporary ones.
    pub async fn prepare(self, conn: &mut PgConnection) -> anyhow::Result<()> {
        let sql = match self {
            Self::Tables => {
                "CREATE TEMP TABLE retry_state ON COMMIT DROP AS
                 SELECT operation_id, attempts, last_error, next_attempt_at, quarantined_at
                   FROM changes WHERE attempts > 0 OR quarantined_at IS NOT NULL;
                 TRUNCATE stock, changes, counts;"
            }
            Self::Temporary => {
                "CREATE TEMP TABLE rebuilt_stock (LIKE stock INCLUDING ALL) ON COMMIT DROP;
                 CREATE TEMP TABLE rebuilt_changes (LIKE changes INCLUDING DEFAULTS,
                                                    PRIMARY KEY (operation_id)) ON COMMIT DROP;
                 CREATE TEMP TABLE rebuilt_counts (LIKE counts INCLUDING ALL) ON COMMIT DROP;"
            }
        };
        sqlx::raw_sql(sql).execute(&mut *conn).await?;
        Ok(())
    }

    /// Copies change rows in.
    pub async fn write_changes(
        self,
        conn: &mut PgConnection,
        rows: &[ChangeRow],
    ) -> anyhow::Result<()> {
        let lines = copy::change_lines(rows);
        copy::copy(conn, &self.table("changes"), CHANGE_COLUMNS, lines).await
    }

    /// Copies count rows in.
    pub async fn write_counts(
        self,
        conn: &mut PgConnection,
        rows: &[CountRow],
    ) -> anyhow::Result<()> {
        let lines = copy::count_lines(rows);
        copy::copy(conn, &self.table("counts"), copy::COUNT_COLUMNS, lines).await
    }

    /// Inserts stock rows.
    pub async fn write_stock(
        self,
        conn: &mut PgConnection,
        rows: &[StockRow],
    ) -> anyhow::Result<()> {
        let table = self.table("stock");
        let sql = format!(
            "INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, $1)"
        );
        insert(conn, &sql, rows).await
    }

    /// A rebuild's last writes: the retry bookkeeping put back, and every
    /// SKU's snapshot (`aggregate_id`, `last_sequence`, `payload`).
    pub async fn finish(
        self,
        conn: &mut PgConnection,
        snapshots: &[serde_json::Value],
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE changes SET attempts = r.attempts, last_error = r.last_error,
                    next_attempt_at = r.next_attempt_at, quarantined_at = r.quarantined_at
               FROM retry_state r WHERE changes.operation_id = r.operation_id",
        )
        .execute(&mut *conn)
        .await?;
        for chunk in snapshots.chunks(CHUNK) {
            sqlx::query(
                "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
                 SELECT $1, n.aggregate_id, n.last_sequence, n.last_sequence, n.payload
                   FROM jsonb_to_recordset($2) AS n(aggregate_id text, last_sequence bigint, payload jsonb)
                 ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
                    SET last_sequence = EXCLUDED.last_sequence,
                        current_snapshot = EXCLUDED.current_snapshot, payload = EXCLUDED.payload",
            )
            .bind(StockItem::TYPE)
            .bind(Json(chunk))
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

/// Runs `sql` once per chunk of `rows`, the chunk as `$1`.
async fn insert<R: Serialize + Sync>(
    conn: &mut PgConnection,
    sql: &str,
    rows: &[R],
) -> anyhow::Result<()> {
    for chunk in rows.chunks(CHUNK) {
        sqlx::query(sql)
            .bind(Json(chunk))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
