//! Typed HTTP helpers for the stack's processes: a store's local API,
//! central's API (with an admin token), and any process's metrics.

mod central;
mod metrics;
mod store;

use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use self::central::CentralApi;
pub use self::metrics::MetricsApi;
pub use self::store::{Count, Stock, StoreApi};

/// Sends `request` to `server`: the status and the JSON body (`null` when
/// the body is not JSON).
async fn status_and_body(request: RequestBuilder, server: &str) -> (StatusCode, Value) {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{server} does not answer: {e}"));
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The JSON body of `response` to `request` (e.g. `GET /x at central`);
/// panics with the body unless it is a success.
async fn successful_json<T: DeserializeOwned>(response: Response, request: &str) -> T {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{request}: {status} {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{request}: {e}: {body}"))
}
