//! Updates and reads of stock.

use serde_json::{Value, json};

use crate::helpers::{LAPTOP, spawn_app};

#[tokio::test]
async fn update_returns_201_with_the_new_quantity_and_version() {
    let app = spawn_app().await;

    let response = app
        .post_update(LAPTOP, json!({ "delta": -5, "reason": "sale" }))
        .await;

    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["sku"], LAPTOP);
    assert_eq!(body["delta"], -5);
    assert_eq!(body["quantity"], 45);
    assert_eq!(body["version"], 1);
    assert_eq!(body["status"], "pending");
    assert!(
        body["operation_id"]
            .as_str()
            .is_some_and(|id| id.len() == 36)
    );
}

#[tokio::test]
async fn a_pending_change_shows_in_quantity_but_not_in_confirmed_figures() {
    let app = spawn_app().await;
    app.post_update(LAPTOP, json!({ "delta": -5 })).await;

    let stock = app.stock(LAPTOP).await;

    assert_eq!(stock["name"], "ThinkPad X1 Carbon");
    assert_eq!(stock["quantity"], 45);
    assert_eq!(stock["confirmed_quantity"], 50);
    assert_eq!(stock["confirmed_version"], 0);
    assert_eq!(stock["version"], 1);
    assert_eq!(stock["pending_changes"], 1);
    assert_eq!(stock["last_synced_at"], Value::Null);
}

#[tokio::test]
async fn compare_and_set_on_the_current_version_is_accepted() {
    let app = spawn_app().await;
    app.post_update(LAPTOP, json!({ "delta": 1 })).await;

    let response = app
        .post_update(LAPTOP, json!({ "delta": 2, "version": 1 }))
        .await;

    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        (body["quantity"].as_i64(), body["version"].as_i64()),
        (Some(53), Some(2))
    );
}

#[tokio::test]
async fn the_list_pages_through_every_sku_with_a_cursor() {
    let app = spawn_app().await;

    let first = app.get_json("/v1/local/inventory?limit=4").await;
    let cursor = first["next_cursor"].as_str().expect("cursor").to_owned();
    let second = app
        .get_json(&format!("/v1/local/inventory?limit=4&cursor={cursor}"))
        .await;
    let third_cursor = second["next_cursor"].as_str().expect("cursor").to_owned();
    let third = app
        .get_json(&format!(
            "/v1/local/inventory?limit=4&cursor={third_cursor}"
        ))
        .await;

    let skus: Vec<String> = [&first, &second, &third]
        .iter()
        .flat_map(|page| page["items"].as_array().expect("items").clone())
        .map(|item| item["sku"].as_str().expect("sku").to_owned())
        .collect();
    assert_eq!(skus.len(), 10);
    assert!(
        skus.windows(2).all(|w| w[0] < w[1]),
        "sorted, no repeats: {skus:?}"
    );
    assert_eq!(third["next_cursor"], Value::Null);
}

#[tokio::test]
async fn the_latest_operation_id_is_the_last_change_of_the_sku() {
    let app = spawn_app().await;
    app.post_update(LAPTOP, json!({ "delta": 1 })).await;
    let last = app.post_update_json(LAPTOP, json!({ "delta": 1 })).await;

    let body = app
        .get_json(&format!("/v1/local/inventory/{LAPTOP}/operation_id"))
        .await;

    assert_eq!(body["operation_id"], last["operation_id"]);
}
