//! The contract's edges: what the framework answers before a handler runs
//! is JSON too, hostile input is refused and stores nothing, a store token
//! sees its own store only, and the token endpoint follows RFC 6749.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    CAMERA, CAMERA_QUANTITY, STORE_1, STORE_2, TestApp, TestClient, assert_refused, change,
    json_body, op, single, spawn_app,
};

async fn operations_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM operations")
        .fetch_one(&app.pool)
        .await
        .expect("count operations")
}

/// Asserts a JSON error body with `code` and a message.
fn assert_code(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_refused(status, body, expected, code);
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// Sends `request` and asserts a JSON error body with `code`.
async fn assert_json_error(request: RequestBuilder, expected: StatusCode, code: &str) {
    let (status, body) = json_body(request.send().await.expect("request")).await;
    assert_code(status, &body, expected, code);
}

#[tokio::test]
async fn the_smallest_i64_delta_is_refused_everywhere_and_stores_nothing() {
    let app = spawn_app().await;
    let (events, operations) = (app.event_count().await, operations_count(&app).await);
    let (worker, admin) = (TestClient::Worker, TestClient::Admin);
    let path = |kind: &str| format!("/v1/stores/{STORE_1}/inventory/{CAMERA}/{kind}");
    let cases = [
        (
            worker,
            "/v1/sync/batch".to_owned(),
            json!({ "store_id": STORE_1, "changes": [change(op(), CAMERA, i64::MIN, None)] }),
        ),
        (worker, path("changes"), single(op(), i64::MIN, None)),
        (admin, path("adjust"), json!({ "delta": i64::MIN })),
    ];
    for (client, path, body) in cases {
        let (status, answer) = app.post_as(client, &path, &body).await;
        assert_code(
            status,
            &answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert!(
            answer["details"]["field"]
                .as_str()
                .is_some_and(|f| f.ends_with("delta")),
            "{answer}"
        );
    }
    assert_eq!(app.event_count().await, events);
    assert_eq!(operations_count(&app).await, operations);
    app.cleanup().await;
}

#[tokio::test]
async fn a_nul_character_in_a_reason_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let operations = operations_count(&app).await;
    let (status, body) = app
        .adjust(
            STORE_1,
            CAMERA,
            &json!({ "delta": -1, "reason": "count\u{0}ed" }),
        )
        .await;
    assert_code(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(body["details"]["field"], "reason");
    assert_eq!(operations_count(&app).await, operations);
    app.cleanup().await;
}

#[tokio::test]
async fn invalid_utf8_in_an_unknown_field_is_a_malformed_request() {
    let app = spawn_app().await;
    let token = app.token(TestClient::Admin).await;
    let mut body = br#"{"delta": -1, "note": ""#.to_vec();
    body.extend_from_slice(b"\xff\xfe\"}");
    let request = app
        .request(
            Method::POST,
            &format!("/v1/stores/{STORE_1}/inventory/{CAMERA}/adjust"),
        )
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body);
    assert_json_error(request, StatusCode::BAD_REQUEST, "malformed_request").await;
    let (_, item) = app.item(STORE_1, CAMERA).await;
    assert_eq!(item["version"], 0, "nothing applied");
    app.cleanup().await;
}

#[tokio::test]
async fn a_store_token_sees_only_its_own_store_in_chain_wide_stock() {
    let app = spawn_app().await;
    app.adjust(STORE_2, CAMERA, &json!({ "delta": 2 })).await;

    let (status, body) = app
        .get_as(TestClient::Store1, &format!("/v1/inventory/{CAMERA}"))
        .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total_quantity"], CAMERA_QUANTITY);
    assert_eq!(
        body["stores"],
        json!([{ "store_id": STORE_1, "quantity": CAMERA_QUANTITY, "version": 0 }])
    );
    app.cleanup().await;
}

#[tokio::test]
async fn an_unrouted_method_is_405_with_a_json_body() {
    let app = spawn_app().await;
    let unrouted = app.request(Method::DELETE, "/v1/sync/batch");
    assert_json_error(
        unrouted,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    app.cleanup().await;
}

#[tokio::test]
async fn oversized_headers_are_431_with_a_json_body() {
    let app = spawn_app().await;
    let padded = app
        .request(Method::GET, "/health/live")
        .header("x-padding", "a".repeat(20_000));
    let expected = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
    assert_json_error(padded, expected, "headers_too_large").await;
    app.cleanup().await;
}

#[tokio::test]
async fn an_oversized_token_request_is_413_with_a_json_body() {
    let app = spawn_app().await;
    let form = format!("grant_type=client_credentials&pad={}", "a".repeat(3 << 20));
    let oversized = app
        .request(Method::POST, "/auth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form);
    assert_json_error(
        oversized,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    app.cleanup().await;
}

/// A token request with the given body and `Authorization` header.
async fn token_request(
    app: &TestApp,
    form: &[(&str, &str)],
    authorization: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = app.request(Method::POST, "/auth/token").form(form);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    json_body(request.send().await.expect("token request")).await
}

#[tokio::test]
async fn the_token_endpoint_follows_rfc_6749() {
    let app = spawn_app().await;
    let client = TestClient::Worker;
    let credentials = [
        ("client_id", client.id()),
        ("client_secret", client.secret()),
    ];
    let basic = format!(
        "Basic {}",
        base64_encode(&format!("{}:{}", client.id(), client.secret()))
    );

    let (status, body) = token_request(&app, &credentials, None).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_request")),
        "grant_type is required: {body}"
    );

    let mut with_grant = vec![("grant_type", "client_credentials")];
    with_grant.extend(credentials);
    let (status, body) = token_request(&app, &with_grant, Some(&basic)).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_request")),
        "two methods: {body}"
    );

    let (status, body) =
        token_request(&app, &with_grant, Some("Bearer whatever-swagger-added")).await;
    assert_eq!(status, StatusCode::OK, "a bearer header is ignored: {body}");
    assert_eq!(body["token_type"], "Bearer");
    app.cleanup().await;
}

fn base64_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
