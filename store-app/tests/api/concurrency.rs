//! Many clients on one hot SKU: no errors, no lost or duplicated updates.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::helpers::{LAPTOP, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_clients_on_one_sku_lose_nothing() {
    let app = Arc::new(spawn_app().await);
    let initial = app.stock(LAPTOP).await["quantity"]
        .as_i64()
        .expect("quantity");

    let clients = (0..32).map(|client| {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let mut accepted = Vec::new();
            for i in 0..100 {
                let delta = if (client + i) % 3 == 0 { -2 } else { 1 };
                let response = app.post_update(LAPTOP, json!({ "delta": delta })).await;
                let status = response.status().as_u16();
                assert!(status < 500, "server error {status}");
                if status == 201 {
                    accepted.push(delta);
                } else {
                    let body: Value = response.json().await.expect("json");
                    assert_eq!(body["code"], "insufficient_stock", "{body}");
                }
            }
            accepted
        })
    });
    let accepted: Vec<i64> = futures_util::future::join_all(clients)
        .await
        .into_iter()
        .flat_map(|r| r.expect("client task"))
        .collect();

    let stock = app.stock(LAPTOP).await;
    assert_eq!(
        stock["quantity"].as_i64(),
        Some(initial + accepted.iter().sum::<i64>())
    );
    let versions: Vec<i64> = sqlx::query_scalar(
        "SELECT (payload->'StockAdjusted'->>'version')::bigint FROM events
          WHERE aggregate_id = $1 AND event_type = 'StockAdjusted' ORDER BY sequence",
    )
    .bind(LAPTOP)
    .fetch_all(&app.db.pool)
    .await
    .expect("versions");
    assert_eq!(
        versions.len(),
        accepted.len(),
        "one event per accepted update"
    );
    assert_eq!(
        versions,
        (1..=accepted.len() as i64).collect::<Vec<_>>(),
        "versions without gaps"
    );
}
