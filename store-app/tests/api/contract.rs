//! The contract's edges: what the framework answers before a handler runs
//! is JSON too, hostile input is refused and writes nothing, and the sync
//! status answers `ok` as the prototype did.

use serde_json::{Value, json};

use crate::helpers::{LAPTOP, TestApp, assert_error, spawn_app};

async fn post_raw(app: &TestApp, path: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.address))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request")
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
        let answer = assert_error(
            app.post_update(LAPTOP, body).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(answer["details"]["field"], field, "{answer}");
    }
    let mut body = br#"{"delta": -1, "note": ""#.to_vec();
    body.extend_from_slice(b"\xff\"}");
    let path = format!("/v1/local/inventory/{LAPTOP}/update");
    assert_error(post_raw(&app, &path, body).await, 400, "malformed_request").await;
    assert_eq!(app.db.event_count().await, before, "no event written");
}

#[tokio::test]
async fn a_bad_inventory_cursor_is_a_validation_error() {
    let app = spawn_app().await;
    for cursor in ["garbage", "-1"] {
        let answer = assert_error(
            app.get(&format!("/v1/local/inventory?cursor={cursor}"))
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(answer["details"]["field"], "cursor", "{answer}");
    }
}

#[tokio::test]
async fn an_unrouted_method_is_405_with_a_json_body() {
    let app = spawn_app().await;
    let response = app
        .client
        .put(format!("{}/v1/local/inventory/{LAPTOP}", app.address))
        .send()
        .await
        .expect("request");
    assert_error(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn oversized_headers_are_431_with_a_json_body() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/v1/local/inventory/{LAPTOP}", app.address))
        .header("x-padding", "a".repeat(20_000))
        .send()
        .await
        .expect("request");
    assert_error(response, 431, "headers_too_large").await;
}

#[tokio::test]
async fn a_path_that_is_not_utf8_is_a_malformed_request() {
    let app = spawn_app().await;
    assert_error(
        app.get("/v1/local/inventory/%FF%FE").await,
        400,
        "malformed_request",
    )
    .await;
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
    let answer = assert_error(
        app.worker_post("/v1/sync/failures", failure).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(answer["details"]["field"], "error", "{answer}");
    let changes = json!({
        "changes": [{
            "operation_id": uuid::Uuid::now_v7(), "sku": LAPTOP,
            "delta": i64::MIN, "version": 1, "quantity": 1,
        }],
        "checkpoint": "1-1",
    });
    let answer = assert_error(
        app.worker_post("/v1/sync/central-changes", changes).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(answer["details"]["field"], "changes[0].delta", "{answer}");
    assert_eq!(app.db.event_count().await, before, "no event written");
}

#[tokio::test]
async fn ok_is_true_only_once_central_applied_the_change() {
    let app = spawn_app().await;
    let update: Value = app
        .post_update(LAPTOP, json!({ "delta": -2 }))
        .await
        .json()
        .await
        .expect("json");
    let id = update["operation_id"]
        .as_str()
        .expect("operation id")
        .to_owned();
    let status_path = format!("/v1/local/sync/status/{id}");

    let pending = app.get_json(&status_path).await;
    assert_eq!(
        (&pending["status"], &pending["ok"]),
        (&json!("pending"), &json!(false))
    );

    app.record_outcome(&id, "applied", 1, 48).await;
    let synced = app.get_json(&status_path).await;
    assert_eq!(
        (&synced["status"], &synced["ok"]),
        (&json!("synced"), &json!(true))
    );
}
