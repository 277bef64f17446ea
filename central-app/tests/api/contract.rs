//! The contract's edges: what the framework answers before a handler runs
//! is JSON too, hostile input is refused and stores nothing, a store token
//! sees its own store only, and the token endpoint follows RFC 6749.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    CAMERA, CAMERA_QUANTITY, STORE_1, STORE_2, TestApp, TestClient, change, json_body, op, single,
    spawn_app,
};

async fn operations_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM operations")
        .fetch_one(&app.pool)
        .await
        .expect("count operations")
}

/// Asserts a JSON error body with `code`; returns it.
fn assert_code(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!((status, &body["code"]), (expected, &json!(code)), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn the_smallest_i64_delta_is_refused_everywhere_and_stores_nothing() {
    let app = spawn_app().await;
    let (events, operations) = (app.event_count().await, operations_count(&app).await);
    let worker = app.token(TestClient::Worker).await;
    let admin = app.token(TestClient::Admin).await;
    let path = |kind: &str| format!("/v1/stores/{STORE_1}/inventory/{CAMERA}/{kind}");
    let cases = [
        (
            worker.clone(),
            "/v1/sync/batch".to_owned(),
            json!({ "store_id": STORE_1, "changes": [change(op(), CAMERA, i64::MIN, None)] }),
        ),
        (worker, path("changes"), single(op(), i64::MIN, None)),
        (admin, path("adjust"), json!({ "delta": i64::MIN })),
    ];
    for (token, path, body) in cases {
        let (status, answer) = json_body(app.post_json(Some(&token), &path, &body).await).await;
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
    let response = app
        .http
        .post(app.url(&format!("/v1/stores/{STORE_1}/inventory/{CAMERA}/adjust")))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    let (status, answer) = json_body(response).await;
    assert_code(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        "malformed_request",
    );
    let (_, item) = app.item(STORE_1, CAMERA).await;
    assert_eq!(item["version"], 0, "nothing applied");
    app.cleanup().await;
}

#[tokio::test]
async fn a_store_token_sees_only_its_own_store_in_chain_wide_stock() {
    let app = spawn_app().await;
    app.adjust(STORE_2, CAMERA, &json!({ "delta": 2 })).await;
    let token = app.token(TestClient::Store1).await;

    let (status, body) = json_body(
        app.get(Some(&token), &format!("/v1/inventory/{CAMERA}"))
            .await,
    )
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
    let response = app
        .http
        .delete(app.url("/v1/sync/batch"))
        .send()
        .await
        .expect("request");
    let (status, body) = json_body(response).await;
    assert_code(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    app.cleanup().await;
}

#[tokio::test]
async fn oversized_headers_are_431_with_a_json_body() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url("/health/live"))
        .header("x-padding", "a".repeat(20_000))
        .send()
        .await
        .expect("request");
    let (status, body) = json_body(response).await;
    assert_code(
        status,
        &body,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
    );
    app.cleanup().await;
}

#[tokio::test]
async fn an_oversized_token_request_is_413_with_a_json_body() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&pad={}",
            "a".repeat(3 << 20)
        ))
        .send()
        .await
        .expect("request");
    let (status, body) = json_body(response).await;
    assert_code(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    app.cleanup().await;
}

/// A token request with the given body and `Authorization` header.
async fn token_request(
    app: &TestApp,
    form: &[(&str, &str)],
    authorization: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = app.http.post(app.url("/auth/token")).form(form);
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
