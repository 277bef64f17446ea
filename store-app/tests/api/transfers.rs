//! Transfers at the store: the worker saves central's copies, the store
//! lists them, ships what it sends and receives what it is sent, each step
//! a change that names its transfer, taken once.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{LAPTOP, STORE_ID, TestApp, assert_error, json_of, send, spawn_app};

/// Central's copy of a transfer of `quantity` laptops, as the feed sends it.
fn copy(id: uuid::Uuid, from: &str, to: &str, status: &str, version: i64) -> Value {
    json!({
        "transfer_id": id, "from_store": from, "to_store": to, "sku": LAPTOP, "quantity": 5,
        "status": status, "shipped": (status == "shipped").then_some(5), "received": null,
        "discrepancy": null, "requested_at": "2026-12-01T12:00:00Z",
        "updated_at": "2026-12-01T12:00:00Z", "version": version,
    })
}

/// The worker saves `transfers` with a checkpoint.
async fn save(app: &TestApp, transfers: Vec<Value>) -> Value {
    let checkpoint = "7-42";
    let body = json!({ "transfers": transfers, "checkpoint": checkpoint });
    app.worker_post_json("/v1/sync/transfers", body).await
}

async fn step(app: &TestApp, id: uuid::Uuid, step: &str, body: Value) -> reqwest::Response {
    let path = format!("/v1/local/transfers/{id}/{step}");
    send(app.request(Method::POST, &path).json(&body)).await
}

#[tokio::test]
async fn the_source_ships_once_and_the_change_names_its_transfer() {
    let app = spawn_app().await;
    let id = uuid::Uuid::now_v7();
    assert_error(
        step(&app, id, "ship", json!({})).await,
        404,
        "transfer_not_found",
    )
    .await;
    save(&app, vec![copy(id, STORE_ID, "STORE-002", "requested", 1)]).await;
    let listed = app.get_json("/v1/local/transfers?status=requested").await;
    assert_eq!(listed["items"][0]["transfer_id"], json!(id), "{listed}");

    let response = step(&app, id, "ship", json!({})).await;
    assert_eq!(response.status(), 201);
    let shipped = json_of(response).await;
    assert_eq!(
        (shipped["kind"].as_str(), shipped["delta"].as_i64()),
        (Some("transfer_out"), Some(-5))
    );
    assert_eq!(shipped["local_status"], "shipping");
    let again = step(&app, id, "ship", json!({})).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(
        json_of(again).await["operation_id"],
        shipped["operation_id"]
    );
    assert_eq!(app.stock(LAPTOP).await["quantity"], 45);

    let pending = app.worker_get_json("/v1/sync/pending?limit=10").await;
    let change = &pending["changes"][0];
    assert_eq!(
        (change["kind"].as_str(), change["transfer_id"].clone()),
        (Some("transfer_out"), json!(id))
    );
    let copy_now = app.get_json(&format!("/v1/local/transfers/{id}")).await;
    assert_eq!(
        (
            copy_now["status"].as_str(),
            copy_now["local_status"].as_str()
        ),
        (Some("requested"), Some("shipping"))
    );
    assert_error(
        step(&app, id, "receive", json!({ "received": 5 })).await,
        409,
        "transfer_wrong_store",
    )
    .await;
}

#[tokio::test]
async fn the_destination_receives_only_what_shipped_and_once() {
    let app = spawn_app().await;
    let id = uuid::Uuid::now_v7();
    save(&app, vec![copy(id, "STORE-002", STORE_ID, "requested", 1)]).await;
    let early = step(&app, id, "receive", json!({ "received": 5 })).await;
    assert_error(early, 409, "transfer_not_ready").await;
    assert_error(
        step(&app, id, "ship", json!({})).await,
        409,
        "transfer_wrong_store",
    )
    .await;

    // A newer copy replaces the older one; an older one never comes back.
    save(&app, vec![copy(id, "STORE-002", STORE_ID, "shipped", 2)]).await;
    let stale = save(&app, vec![copy(id, "STORE-002", STORE_ID, "requested", 1)]).await;
    assert_eq!(stale["recorded"], 0);
    let zero = step(&app, id, "receive", json!({ "received": 0 })).await;
    assert_error(zero, 422, "validation_failed").await;
    let received = step(&app, id, "receive", json!({ "received": 4 })).await;
    assert_eq!(received.status(), 201);
    let received = json_of(received).await;
    assert_eq!(
        (
            received["delta"].as_i64(),
            received["local_status"].as_str()
        ),
        (Some(4), Some("receiving"))
    );
    let other = step(&app, id, "receive", json!({ "received": 5 })).await;
    assert_error(other, 409, "operation_id_reused").await;
    assert_eq!(app.stock(LAPTOP).await["quantity"], 54);
    let checkpoint = app.worker_get_json("/v1/sync/checkpoint").await;
    assert_eq!(checkpoint["transfers"], "7-42");
}

#[tokio::test]
async fn a_shipment_needs_the_stock_and_a_cancelled_transfer_does_not_ship() {
    let app = spawn_app().await;
    let (big, cancelled) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let mut too_many = copy(big, STORE_ID, "STORE-002", "requested", 1);
    too_many["quantity"] = json!(51);
    save(
        &app,
        vec![
            too_many,
            copy(cancelled, STORE_ID, "STORE-002", "cancelled", 2),
        ],
    )
    .await;
    assert_error(
        step(&app, big, "ship", json!({})).await,
        422,
        "insufficient_stock",
    )
    .await;
    assert_error(
        step(&app, cancelled, "ship", json!({})).await,
        409,
        "transfer_not_ready",
    )
    .await;
    assert_eq!(app.stock(LAPTOP).await["quantity"], 50);
    let listed = app.get_json("/v1/local/transfers?status=cancelled").await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
}
