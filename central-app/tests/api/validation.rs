//! Bad input gets a 4xx with a JSON error body and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    CAMERA, POPULATE_EVENTS, STORE_1, TestClient, change, json_body, op, spawn_app,
};

fn batch(changes: Value) -> Value {
    json!({ "store_id": STORE_1, "changes": changes })
}

#[tokio::test]
async fn every_bad_input_gets_a_4xx_json_error_and_writes_nothing() {
    let app = spawn_app().await;
    let worker = app.token(TestClient::Worker).await;
    let admin = app.token(TestClient::Admin).await;
    let changes_path = format!("/v1/stores/{STORE_1}/inventory/{CAMERA}/changes");
    let adjust_path = format!("/v1/stores/{STORE_1}/inventory/{CAMERA}/adjust");
    let id = op();
    let too_many: Vec<Value> = (0..1001).map(|_| change(op(), CAMERA, 1, None)).collect();

    let json_cases: Vec<(&str, &str, Value, StatusCode)> = vec![
        (
            "/v1/sync/batch",
            "zero delta",
            batch(json!([change(id, CAMERA, 0, None)])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/sync/batch",
            "huge delta",
            batch(json!([change(id, CAMERA, 1_000_001, None)])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/sync/batch",
            "fractional delta",
            batch(json!([{ "operation_id": id, "sku": CAMERA, "delta": 1.5 }])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/sync/batch",
            "overflowing delta",
            batch(json!([{ "operation_id": id, "sku": CAMERA, "delta": 1e30 }])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/sync/batch",
            "string delta",
            batch(json!([{ "operation_id": id, "sku": CAMERA, "delta": "5" }])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/sync/batch",
            "lowercase sku",
            batch(json!([change(id, "elec-cam-006", 1, None)])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/sync/batch",
            "sku too long",
            batch(json!([change(id, &"A".repeat(65), 1, None)])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/sync/batch",
            "bad operation id",
            batch(json!([{ "operation_id": "nope", "sku": CAMERA, "delta": 1 }])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/sync/batch",
            "missing operation id",
            batch(json!([{ "sku": CAMERA, "delta": 1 }])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/sync/batch",
            "negative version",
            batch(json!([change(id, CAMERA, 1, Some(-1))])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/sync/batch",
            "bad occurred_at",
            batch(
                json!([{ "operation_id": id, "sku": CAMERA, "delta": 1, "occurred_at": "yesterday" }]),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/sync/batch",
            "bad store id",
            json!({ "store_id": "store 1", "changes": [] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/sync/batch",
            "changes not a list",
            json!({ "store_id": STORE_1, "changes": {} }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/sync/batch",
            "too many changes",
            batch(json!(too_many)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/sync/batch",
            "not an object",
            json!([1, 2]),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &changes_path,
            "zero delta",
            json!({ "operation_id": id, "delta": 0 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &changes_path,
            "missing delta",
            json!({ "operation_id": id }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/stores/STORE-001/inventory/bad%20sku/changes",
            "bad sku in path",
            json!({ "operation_id": id, "delta": 1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/stores/-X/inventory/ELEC-CAM-006/changes",
            "bad store in path",
            json!({ "operation_id": id, "delta": 1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &adjust_path,
            "reason too long",
            json!({ "delta": 1, "reason": "x".repeat(501) }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &adjust_path,
            "negative version",
            json!({ "delta": 1, "expected_version": -3 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &adjust_path,
            "huge version",
            json!({ "delta": 1, "expected_version": 1e300 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (path, case, body, expected) in json_cases {
        let token = if path.ends_with("/adjust") {
            &admin
        } else {
            &worker
        };
        let (status, error) = json_body(app.post_json(Some(token), path, &body).await).await;
        assert_eq!(status, expected, "{case}: {error}");
        assert!(
            error["code"].is_string() && error["message"].is_string(),
            "{case}: {error}"
        );
    }

    let raw_cases: Vec<(&str, Option<&str>, &str, StatusCode)> = vec![
        (
            "malformed JSON",
            Some("application/json"),
            "{\"store_id\": ",
            StatusCode::BAD_REQUEST,
        ),
        (
            "no content type",
            None,
            "{}",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "text body",
            Some("text/plain"),
            "hello",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (case, content_type, body, expected) in raw_cases {
        let mut request = app
            .request(Method::POST, "/v1/sync/batch")
            .bearer_auth(&worker)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (status, error) = json_body(request.send().await.expect("request")).await;
        assert_eq!(status, expected, "{case}: {error}");
        assert!(error["code"].is_string(), "{case}: {error}");
    }

    let query_cases = [
        "/v1/events?limit=0",
        "/v1/events?limit=5000",
        "/v1/events?limit=abc",
        "/v1/events?after=xyz",
        "/v1/events?after=1-",
        "/v1/events?store_id=bad%20store",
        "/v1/events?sku=bad%20sku",
        "/v1/inventory/bad%20sku",
        "/v1/stores/bad%20store/inventory/ELEC-CAM-006",
    ];
    for path in query_cases {
        let (status, error) = json_body(app.get(Some(&worker), path).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {error}");
        assert_eq!(error["code"], "validation_failed", "{path}");
    }

    let (status, error) = json_body(app.get(Some(&worker), "/v1/nowhere").await).await;
    assert_eq!(
        (status, error["code"].clone()),
        (StatusCode::NOT_FOUND, json!("route_not_found"))
    );
    let (status, error) = json_body(
        app.get(Some(&worker), "/v1/stores/STORE-001/inventory/NOPE-1")
            .await,
    )
    .await;
    assert_eq!(
        (status, error["code"].clone()),
        (StatusCode::NOT_FOUND, json!("sku_not_found"))
    );
    let (status, error) = json_body(app.get(Some(&worker), "/v1/inventory/NOPE-1").await).await;
    assert_eq!(
        (status, error["code"].clone()),
        (StatusCode::NOT_FOUND, json!("sku_not_found"))
    );
    let (status, error) = json_body(
        app.request(Method::DELETE, "/v1/sync/batch")
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(
        (status, error["code"].clone()),
        (StatusCode::METHOD_NOT_ALLOWED, json!("method_not_allowed"))
    );

    assert_eq!(app.event_count().await, POPULATE_EVENTS);
    let operations: i64 = sqlx::query_scalar("SELECT count(*) FROM operations")
        .fetch_one(&app.pool)
        .await
        .expect("count operations");
    assert_eq!(operations, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn bad_token_requests_get_oauth_errors() {
    let app = spawn_app().await;
    let cases = [
        (
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "application/x-www-form-urlencoded",
            "grant_type=password&client_id=a&client_secret=b",
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            "application/json",
            "{\"client_id\": 5",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "text/plain",
            "client_id=a",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (content_type, body, status, error) in cases {
        let response = app
            .request(Method::POST, "/auth/token")
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("token request");
        let (got, answer) = json_body(response).await;
        assert_eq!(
            (got, answer["error"].clone()),
            (status, json!(error)),
            "{body}"
        );
    }
    app.cleanup().await;
}
