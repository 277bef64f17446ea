//! Repeated operation ids: replays answer with the original, reuses are 409.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{LAPTOP, assert_error, spawn_app};

#[tokio::test]
async fn repeating_an_operation_returns_the_original_and_writes_nothing() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    let body = json!({ "delta": -3, "operation_id": id });
    let first = app.post_update(LAPTOP, body.clone()).await;
    let original: Value = first.json().await.expect("json");
    app.post_update(LAPTOP, json!({ "delta": -1 })).await;
    let events = app.db.event_count().await;

    let repeat = app.post_update(LAPTOP, body).await;

    assert_eq!(repeat.status(), 201);
    assert_eq!(repeat.headers()["idempotent-replayed"], "true");
    let replayed: Value = repeat.json().await.expect("json");
    assert_eq!(replayed, original);
    assert_eq!(app.db.event_count().await, events);
    assert_eq!(app.stock(LAPTOP).await["quantity"], 46);
}

#[tokio::test]
async fn an_operation_id_reused_with_another_payload_is_409() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    app.post_update(LAPTOP, json!({ "delta": -3, "operation_id": id }))
        .await;
    let events = app.db.event_count().await;

    let other_delta = app
        .post_update(LAPTOP, json!({ "delta": -4, "operation_id": id }))
        .await;
    let other_sku = app
        .post_update("ELEC-PHONE-002", json!({ "delta": -3, "operation_id": id }))
        .await;

    assert_error(other_delta, 409, "operation_id_reused").await;
    assert_error(other_sku, 409, "operation_id_reused").await;
    assert_eq!(app.db.event_count().await, events);
}

#[tokio::test]
async fn concurrent_repeats_of_one_operation_apply_it_once() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();

    let responses = futures_util::future::join_all((0..16).map(|i| {
        let sku = if i % 2 == 0 { LAPTOP } else { "ELEC-PHONE-002" };
        app.post_update(sku, json!({ "delta": -1, "operation_id": id }))
    }))
    .await;

    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    let adjusted: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'StockAdjusted'")
            .fetch_one(&app.db.pool)
            .await
            .expect("count");
    assert_eq!(adjusted, 1);
}
