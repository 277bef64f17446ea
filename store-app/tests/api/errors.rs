//! Every error code of the store's API: a JSON body with `code` and
//! `message`, and nothing written.

use serde_json::json;

use crate::helpers::{LAPTOP, assert_error, spawn_app, spawn_app_with_broker};

#[tokio::test]
async fn bad_updates_get_their_error_codes_and_write_nothing() {
    let app = spawn_app().await;
    let before = app.db.event_count().await;
    let cases = [
        (LAPTOP, json!({ "delta": 0 }), 422, "validation_failed"),
        (
            LAPTOP,
            json!({ "delta": 1_000_001 }),
            422,
            "validation_failed",
        ),
        (
            LAPTOP,
            json!({ "delta": -1_000_001 }),
            422,
            "validation_failed",
        ),
        (LAPTOP, json!({ "delta": "five" }), 422, "validation_failed"),
        (LAPTOP, json!({}), 422, "validation_failed"),
        (
            LAPTOP,
            json!({ "delta": 1, "version": -1 }),
            422,
            "validation_failed",
        ),
        (
            LAPTOP,
            json!({ "delta": 1, "operation_id": "not-a-uuid" }),
            422,
            "validation_failed",
        ),
        (
            LAPTOP,
            json!({ "delta": 1, "reason": "x".repeat(501) }),
            422,
            "validation_failed",
        ),
        ("bad sku", json!({ "delta": 1 }), 422, "validation_failed"),
        ("NO-SUCH-SKU", json!({ "delta": 1 }), 404, "sku_not_found"),
        (LAPTOP, json!({ "delta": -51 }), 422, "insufficient_stock"),
        (
            LAPTOP,
            json!({ "delta": 1, "version": 7 }),
            409,
            "version_conflict",
        ),
    ];
    for (sku, body, status, code) in cases {
        let response = app.post_update(sku, body.clone()).await;
        assert_error(response, status, code).await;
    }
    assert_eq!(app.db.event_count().await, before, "no event written");
}

#[tokio::test]
async fn a_version_conflict_reports_the_current_version_and_quantity() {
    let app = spawn_app().await;
    app.post_update(LAPTOP, json!({ "delta": -2 })).await;

    let body = assert_error(
        app.post_update(LAPTOP, json!({ "delta": 1, "version": 0 }))
            .await,
        409,
        "version_conflict",
    )
    .await;

    assert_eq!(body["details"]["current_version"], 1);
    assert_eq!(body["details"]["quantity"], 48);
}

#[tokio::test]
async fn malformed_json_is_400_and_a_wrong_content_type_is_415() {
    let app = spawn_app().await;
    let before = app.db.event_count().await;
    let path = format!("/v1/local/inventory/{LAPTOP}/update");

    let malformed = app.post_raw(&path, "application/json", "{\"delta\":").await;
    assert_error(malformed, 400, "malformed_request").await;
    let text = app.post_raw(&path, "text/plain", "delta=1").await;
    assert_error(text, 415, "unsupported_media_type").await;

    assert_eq!(app.db.event_count().await, before);
}

#[tokio::test]
async fn unknown_skus_operations_and_routes_are_404() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::new_v4();
    let cases = [
        (
            "/v1/local/inventory/NO-SUCH-SKU".to_owned(),
            404,
            "sku_not_found",
        ),
        (
            format!("/v1/local/inventory/{LAPTOP}/operation_id"),
            404,
            "operation_not_found",
        ),
        (
            format!("/v1/local/sync/status/{unknown}"),
            404,
            "operation_not_found",
        ),
        (
            "/v1/local/sync/status/nope".to_owned(),
            422,
            "validation_failed",
        ),
        (
            "/v1/local/inventory?limit=0".to_owned(),
            422,
            "validation_failed",
        ),
        (
            "/v1/local/events?after=garbage".to_owned(),
            422,
            "validation_failed",
        ),
        ("/no/such/route".to_owned(), 404, "route_not_found"),
    ];

    for (path, status, code) in cases {
        assert_error(app.get(&path).await, status, code).await;
    }
}

#[tokio::test]
async fn the_trigger_is_503_when_the_broker_is_down_and_updates_still_work() {
    let app = spawn_app_with_broker("amqp://guest:guest@127.0.0.1:1/%2f".into()).await;

    let trigger = app.trigger_sync().await;
    let update = app.post_update(LAPTOP, json!({ "delta": 1 })).await;

    assert_error(trigger, 503, "broker_unavailable").await;
    assert_eq!(update.status(), 201, "updates never depend on the broker");
}
