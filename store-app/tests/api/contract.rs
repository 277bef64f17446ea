//! The contract's edges: what the framework answers before a handler runs
//! is JSON too, hostile input is refused and writes nothing, and the sync
//! status answers `ok` as the prototype did.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{LAPTOP, assert_error, send, spawn_app};

/// Asserts a `validation_failed` answer that names `field`.
async fn assert_invalid(response: reqwest::Response, field: &str) {
    let answer = assert_error(response, 422, "validation_failed").await;
    assert_eq!(answer["details"]["field"], field, "{answer}");
}

#[tokio::test]
async fn hostile_updates_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    let before = app.db.event_count().await;
    let cases = [
        (json!({ "delta": i64::MIN }), "delta"),
        (json!({ "delta": -1, "reason": "sale\u{0}" }), "reason"),
    ];
    for (body, field) in cases {
        assert_invalid(app.post_update(LAPTOP, body).await, field).await;
    }
    let mut body = br#"{"delta": -1, "note": ""#.to_vec();
    body.extend_from_slice(b"\xff\"}");
    let path = format!("/v1/local/inventory/{LAPTOP}/update");
    let response = app.post_raw(&path, "application/json", body).await;
    assert_error(response, 400, "malformed_request").await;
    assert_eq!(app.db.event_count().await, before, "no event written");
}

#[tokio::test]
async fn a_bad_inventory_cursor_is_a_validation_error() {
    let app = spawn_app().await;
    for cursor in ["garbage", "-1"] {
        let path = format!("/v1/local/inventory?cursor={cursor}");
        assert_invalid(app.get(&path).await, "cursor").await;
    }
}

#[tokio::test]
async fn an_unrouted_method_is_405_with_a_json_body() {
    let app = spawn_app().await;
    let put = app.request(Method::PUT, &format!("/v1/local/inventory/{LAPTOP}"));
    assert_error(send(put).await, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn oversized_headers_are_431_with_a_json_body() {
    let app = spawn_app().await;
    let padded = app
        .request(Method::GET, &format!("/v1/local/inventory/{LAPTOP}"))
        .header("x-padding", "a".repeat(20_000));
    assert_error(send(padded).await, 431, "headers_too_large").await;
}

#[tokio::test]
async fn a_path_that_is_not_utf8_is_a_malformed_request() {
    let app = spawn_app().await;
    let response = app.get("/v1/local/inventory/%FF%FE").await;
    assert_error(response, 400, "malformed_request").await;
}

#[tokio::test]
async fn the_worker_api_refuses_nul_and_the_smallest_i64() {
    let app = spawn_app().await;
    let before = app.db.event_count().await;
    let failure = json!({
        "operation_ids": [uuid::Uuid::now_v7()],
        "error": "central \u{0} down",
        "next_attempt_at": null,
    });
    let response = app.worker_post("/v1/sync/failures", failure).await;
    assert_invalid(response, "error").await;
    let changes = json!({
        "changes": [{
            "operation_id": uuid::Uuid::now_v7(), "sku": LAPTOP,
            "delta": i64::MIN, "version": 1, "quantity": 1,
        }],
        "checkpoint": "1-1",
    });
    let response = app.worker_post("/v1/sync/central-changes", changes).await;
    assert_invalid(response, "changes[0].delta").await;
    assert_eq!(app.db.event_count().await, before, "no event written");
}

#[tokio::test]
async fn ok_is_true_only_once_central_applied_the_change() {
    let app = spawn_app().await;
    let id = app.update_laptop(json!({ "delta": -2 })).await;

    let pending = app.sync_status(&id).await;
    assert_eq!(
        (&pending["status"], &pending["ok"]),
        (&json!("pending"), &json!(false))
    );

    app.record_outcome(&id, "applied", 1, 48).await;
    let synced = app.sync_status(&id).await;
    assert_eq!(
        (&synced["status"], &synced["ok"]),
        (&json!("synced"), &json!(true))
    );
}
