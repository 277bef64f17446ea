//! Low-stock alerts. Whatever moves a (store, SKU)'s available stock (a
//! change, a hold placed or ended, a new reorder point) asks for the alert
//! it calls for in the same transaction: the alert is recorded in
//! `low_stock` and its message in the outbox, so it is published once the
//! transaction commits and never if it does not ([`crate::outbox`]).

use std::collections::BTreeSet;

use chrono::{DateTime, SubsecRound, Utc};
use domain::reservation::{Crossing, alert_due};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// What a `stock.low` or `stock.restored` message says.
#[derive(Debug, Clone, Serialize)]
pub struct StockAlert {
    /// Unique per message: a consumer drops a repeat by it.
    pub message_id: Uuid,
    /// `stock.low` or `stock.restored`.
    pub event: &'static str,
    pub store_id: String,
    pub sku: String,
    /// Units at central minus live holds.
    pub available: i64,
    /// The reorder point.
    pub level: i64,
    pub at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Standing {
    store_id: String,
    sku: String,
    available: i64,
    level: i64,
    was_low: bool,
}

/// Records the alerts the (store, SKU) pairs call for now (one per
/// crossing of the reorder point); returns how many. Pairs without a
/// reorder point cost one query in all.
pub async fn evaluate(
    conn: &mut PgConnection,
    pairs: impl IntoIterator<Item = (String, String)>,
) -> Result<usize, sqlx::Error> {
    let pairs: BTreeSet<(String, String)> = pairs.into_iter().collect();
    if pairs.is_empty() {
        return Ok(0);
    }
    let (stores, skus): (Vec<String>, Vec<String>) = pairs.into_iter().unzip();
    let standings: Vec<Standing> = sqlx::query_as(
        "SELECT s.store_id, s.sku, s.quantity - COALESCE(h.held, 0) AS available, r.level,
                (l.store_id IS NOT NULL) AS was_low
           FROM unnest($1::text[], $2::text[]) AS p(store_id, sku)
           JOIN reorder_points r ON r.store_id = p.store_id AND r.sku = p.sku
           JOIN central_stock s ON s.store_id = p.store_id AND s.sku = p.sku
           LEFT JOIN low_stock l ON l.store_id = p.store_id AND l.sku = p.sku
           LEFT JOIN LATERAL (SELECT sum(quantity)::bigint AS held FROM reservations
                               WHERE store_id = p.store_id AND sku = p.sku AND status = 'held') h
                  ON true",
    )
    .bind(&stores)
    .bind(&skus)
    .fetch_all(&mut *conn)
    .await?;
    let mut sent = 0;
    for standing in standings {
        let Some(crossing) = alert_due(standing.level, standing.was_low, standing.available) else {
            continue;
        };
        record(conn, &standing, crossing).await?;
        sent += 1;
    }
    Ok(sent)
}

async fn record(
    conn: &mut PgConnection,
    standing: &Standing,
    crossing: Crossing,
) -> Result<(), sqlx::Error> {
    let alert = StockAlert {
        message_id: Uuid::now_v7(),
        event: crossing.routing_prefix(),
        store_id: standing.store_id.clone(),
        sku: standing.sku.clone(),
        available: standing.available,
        level: standing.level,
        at: Utc::now().trunc_subsecs(6),
    };
    let low = match crossing {
        Crossing::Low => sqlx::query(
            "INSERT INTO low_stock (store_id, sku, available, level, since) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&alert.store_id)
        .bind(&alert.sku)
        .bind(alert.available)
        .bind(alert.level)
        .bind(alert.at),
        Crossing::Restored => {
            sqlx::query("DELETE FROM low_stock WHERE store_id = $1 AND sku = $2")
                .bind(&alert.store_id)
                .bind(&alert.sku)
        }
    };
    low.execute(&mut *conn).await?;
    let routing_key = format!("{}.{}.{}", alert.event, alert.store_id, alert.sku);
    sqlx::query("INSERT INTO outbox (message_id, routing_key, payload) VALUES ($1, $2, $3)")
        .bind(alert.message_id)
        .bind(routing_key)
        .bind(sqlx::types::Json(&alert))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A SKU that is low now.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LowStock {
    pub store_id: String,
    pub sku: String,
    pub available: i64,
    pub level: i64,
    pub since: DateTime<Utc>,
}

/// Every SKU low now, of `store_id` when given.
pub async fn low_now(
    executor: impl sqlx::PgExecutor<'_>,
    store_id: Option<&str>,
) -> Result<Vec<LowStock>, sqlx::Error> {
    sqlx::query_as(
        "SELECT store_id, sku, available, level, since FROM low_stock
          WHERE $1::text IS NULL OR store_id = $1 ORDER BY store_id, sku",
    )
    .bind(store_id)
    .fetch_all(executor)
    .await
}
