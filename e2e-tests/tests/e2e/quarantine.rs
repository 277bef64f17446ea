//! Quarantine: central refusing a whole batch (a 4xx for the request, not an
//! answer per change) because of one change in it. Central here sits behind
//! a proxy that refuses every batch holding the poisoned operation id, as a
//! newer central with a stricter rule would. The worker finds that change,
//! the store sets it aside (`quarantined`), the rest flows, and an operator
//! retries it after the fix.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use e2e_tests::harness::wait::wait_until;
use e2e_tests::harness::{SKU, SKUS, Service, Stack};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

/// Forwards everything to central, except batches holding `poison` while
/// `refusing` is set: those get a 422.
#[derive(Clone)]
struct RefusingProxy {
    central: String,
    poison: Uuid,
    refusing: Arc<AtomicBool>,
    http: reqwest::Client,
}

impl RefusingProxy {
    /// Serves on a free port; its base URL.
    async fn start(self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = Router::new().fallback(forward).with_state(self);
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }
}

async fn forward(State(proxy): State<RefusingProxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let poisoned = String::from_utf8_lossy(&body).contains(&proxy.poison.to_string());
    if parts.uri.path() == "/v1/sync/batch" && poisoned && proxy.refusing.load(Ordering::SeqCst) {
        let refusal =
            json!({ "code": "validation_failed", "message": "a rule this central enforces" });
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(refusal)).into_response();
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = HeaderMap::new();
    for name in ["authorization", "content-type"] {
        if let Some(value) = parts.headers.get(name) {
            headers.insert(name, value.clone());
        }
    }
    let answer = proxy
        .http
        .request(parts.method, format!("{}{path}", proxy.central))
        .headers(headers)
        .body(body)
        .send()
        .await;
    match answer {
        Ok(answer) => {
            let status = answer.status();
            let content_type = answer.headers().get("content-type").cloned();
            let bytes = answer.bytes().await.unwrap_or_default();
            let mut response = (status, bytes).into_response();
            if let Some(content_type) = content_type {
                response.headers_mut().insert("content-type", content_type);
            }
            response
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_central_refuses_in_any_batch_is_quarantined_and_the_rest_flow() {
    let mut stack = Stack::start().await;
    let poison = Uuid::now_v7();
    let refusing = Arc::new(AtomicBool::new(true));
    let proxy = RefusingProxy {
        central: stack.central.url.clone(),
        poison,
        refusing: Arc::clone(&refusing),
        http: reqwest::Client::new(),
    }
    .start()
    .await;
    stack.set_worker_env("CENTRAL_URL", &proxy);
    stack.kill(Service::Worker(0));
    stack.restart(Service::Worker(0)).await;
    let store = stack.store(0).clone();

    // The poisoned change first, then others of the same and other SKUs.
    let answer = store
        .request(Method::POST, &format!("/v1/local/inventory/{SKU}/update"))
        .json(&json!({ "delta": -1, "operation_id": poison }))
        .send()
        .await
        .expect("update");
    assert_eq!(answer.status(), 201);
    let mut others = Vec::new();
    for sku in [SKU, SKUS[1], SKUS[2]] {
        others.push(store.update(sku, -2, None).await.operation_id);
    }

    for id in &others {
        let status = store.decided(*id, Duration::from_secs(20)).await;
        assert_eq!(status.status, "synced", "{id} is held up: {status:?}");
    }
    let worker = &stack.workers[0];
    wait_until(
        "the poisoned change to be quarantined",
        Duration::from_secs(20),
        || async { store.status(poison).await.status == "quarantined" },
    )
    .await;
    assert_eq!(
        worker
            .metric("sync_changes_total", "outcome=\"quarantined\"")
            .await,
        1.0
    );
    let inbox: serde_json::Value = store
        .request(Method::GET, "/v1/local/changes?status=quarantined")
        .send()
        .await
        .expect("inbox")
        .json()
        .await
        .expect("json");
    assert_eq!(
        inbox["changes"][0]["operation_id"],
        poison.to_string(),
        "{inbox}"
    );
    assert!(
        inbox["changes"][0]["last_error"]
            .as_str()
            .is_some_and(|error| error.contains("422")),
        "{inbox}"
    );

    // Retried before the fix: quarantined again.
    let retry = format!("/v1/local/changes/{poison}/retry");
    let again = store
        .request(Method::POST, &retry)
        .send()
        .await
        .expect("retry");
    assert_eq!(again.status(), 200);
    worker
        .wait_for_metric(
            "sync_changes_total",
            "outcome=\"quarantined\"",
            2.0,
            Duration::from_secs(20),
        )
        .await;

    // After the fix, a retry goes through exactly once.
    refusing.store(false, Ordering::SeqCst);
    let fixed = store
        .request(Method::POST, &retry)
        .send()
        .await
        .expect("retry");
    assert_eq!(fixed.status(), 200);
    let status = store.decided(poison, Duration::from_secs(20)).await;
    assert_eq!(status.status, "synced", "{status:?}");
    let mut all = others.clone();
    all.push(poison);
    stack.assert_applied_exactly_once(0, &all).await;
    stack.assert_converged().await;
}
