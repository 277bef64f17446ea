//! The shared HTTP pieces seen from outside: error bodies, extractor
//! rejections, request ids and metrics, driven through a small router.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, Response, StatusCode, header};
use axum::routing::{get, post};
use prometheus::Registry;
use serde::Deserialize;
use serde_json::{Value, json};
use service_infra::{
    ApiError, HttpMetrics, Json, Path, Query, metrics_router, not_found_fallback,
    with_observability,
};
use tower::ServiceExt;

#[derive(Debug, Deserialize, serde::Serialize)]
struct Update {
    sku: String,
    delta: i64,
}

#[derive(Debug, Deserialize)]
struct Page {
    limit: u32,
}

fn app() -> (Router, Registry) {
    let registry = Registry::new();
    let metrics = HttpMetrics::new(&registry).expect("register metrics");
    let routes = Router::new()
        .route(
            "/updates",
            post(|Json(update): Json<Update>| async move { Json(update) }),
        )
        .route(
            "/stores/{id}",
            get(|Path(id): Path<u64>| async move { id.to_string() }),
        )
        .route(
            "/events",
            get(|Query(page): Query<Page>| async move { page.limit.to_string() }),
        )
        .route(
            "/boom",
            get(|| async { ApiError::internal(std::io::Error::other("disk on fire")) }),
        )
        .route(
            "/auth",
            get(|| async { ApiError::unauthorized("no token") }),
        )
        .route(
            "/busy",
            get(|| async { ApiError::unavailable("database_unavailable", "down", 7) }),
        )
        .fallback(not_found_fallback);
    (with_observability(routes, metrics), registry)
}

async fn send(router: Router, request: Request<Body>) -> (Response<Body>, Value) {
    let response = router.oneshot(request).await.expect("infallible router");
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.expect("read body");
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (Response::from_parts(parts, Body::empty()), value)
}

fn get_request(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

/// `GET {uri}` on a fresh [`app`].
async fn fetch(uri: &str) -> (Response<Body>, Value) {
    send(app().0, get_request(uri)).await
}

/// Asserts an error answer's status and `code`.
fn assert_error(response: &Response<Body>, body: &Value, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status, "{body}");
    assert_eq!(body["code"], code, "{body}");
}

fn post_json(body: &str) -> Request<Body> {
    Request::post("/updates")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request")
}

#[tokio::test]
async fn valid_json_body_round_trips() {
    let (response, body) = send(app().0, post_json(r#"{"sku":"A-1","delta":3}"#)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body, json!({ "sku": "A-1", "delta": 3 }));
}

#[tokio::test]
async fn json_body_of_the_wrong_shape_is_422_with_the_reason() {
    let (response, body) = send(app().0, post_json(r#"{"sku":"A-1","delta":"three"}"#)).await;
    assert_error(
        &response,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(body["details"]["field"], "delta", "{body}");
    let reason = body["details"]["reason"].as_str().expect("reason");
    assert!(reason.contains("invalid type"), "reason {reason:?}");
}

#[tokio::test]
async fn syntactically_broken_json_is_400() {
    let (response, body) = send(app().0, post_json(r#"{"sku":"#)).await;
    assert_error(
        &response,
        &body,
        StatusCode::BAD_REQUEST,
        "malformed_request",
    );
    assert!(body.get("details").is_none());
}

#[tokio::test]
async fn json_body_without_content_type_is_415() {
    let request = Request::post("/updates")
        .body(Body::from("{}"))
        .expect("request");
    let (response, body) = send(app().0, request).await;
    let unsupported = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    assert_error(&response, &body, unsupported, "unsupported_media_type");
}

/// Asserts that `GET {uri}` is refused with 422 `validation_failed`.
async fn assert_unparsable(uri: &str) {
    let (response, body) = fetch(uri).await;
    assert_error(
        &response,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
}

#[tokio::test]
async fn path_parameter_that_does_not_parse_is_422() {
    assert_unparsable("/stores/seven").await;
}

#[tokio::test]
async fn query_that_does_not_parse_is_422() {
    assert_unparsable("/events?limit=-1").await;
}

#[tokio::test]
async fn unknown_route_is_404_route_not_found() {
    let (response, body) = fetch("/nowhere").await;
    assert_error(&response, &body, StatusCode::NOT_FOUND, "route_not_found");
}

#[tokio::test]
async fn internal_error_hides_the_cause_and_names_the_request_id() {
    let (response, body) = fetch("/boom").await;
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .expect("ascii id");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["code"], "internal_error");
    let message = body["message"].as_str().expect("message");
    assert!(
        message.contains(request_id),
        "{message:?} names {request_id}"
    );
    assert!(!message.contains("disk"));
}

#[tokio::test]
async fn incoming_request_id_is_kept_on_the_response() {
    let request = Request::get("/stores/1")
        .header("x-request-id", "req-42")
        .body(Body::empty())
        .expect("request");
    let (response, _) = send(app().0, request).await;
    assert_eq!(response.headers()["x-request-id"], "req-42");
}

#[tokio::test]
async fn unauthorized_asks_for_a_bearer_token() {
    let (response, body) = fetch("/auth").await;
    assert_error(&response, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
}

#[tokio::test]
async fn unavailable_says_when_to_retry() {
    let (response, body) = fetch("/busy").await;
    let unavailable = StatusCode::SERVICE_UNAVAILABLE;
    assert_error(&response, &body, unavailable, "database_unavailable");
    assert_eq!(response.headers()[header::RETRY_AFTER], "7");
}

#[tokio::test]
async fn requests_are_counted_by_route_template() {
    let (router, registry) = app();
    send(router.clone(), get_request("/stores/1")).await;
    send(router.clone(), get_request("/stores/2")).await;
    send(router, get_request("/nowhere")).await;

    let response = metrics_router(registry)
        .oneshot(get_request("/metrics"))
        .await
        .expect("metrics");
    let content_type = response.headers()[header::CONTENT_TYPE].clone();
    let text = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("read body");
    let text = String::from_utf8(text.to_vec()).expect("utf-8");

    assert_eq!(content_type, "text/plain; version=0.0.4");
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/stores/{id}",status="200"} 2"#)
    );
    assert!(text.contains(r#"http_requests_total{method="GET",route="unmatched",status="404"} 1"#));
    assert!(text.contains("http_request_duration_seconds_bucket"));
}
