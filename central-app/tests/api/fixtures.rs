//! Fixtures shared by the API tests: the populated catalogue's figures,
//! the test clients, a recording nudger and request body builders.

use std::sync::Mutex;

use central_app::nudge::StoreNudger;
use domain::StoreId;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use service_infra::auth::Role;
use uuid::Uuid;

pub const STORE_1: &str = "STORE-001";
pub const STORE_2: &str = "STORE-002";
/// Registered for both stores with 25 units.
pub const CAMERA: &str = "ELEC-CAM-006";
pub const CAMERA_QUANTITY: i64 = 25;
/// Events written by populating two stores with the sample catalogue.
pub const POPULATE_EVENTS: i64 = 20;

/// The clients every test app has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestClient {
    Worker,
    Admin,
    /// A store client for STORE-001.
    Store1,
}

impl TestClient {
    pub fn id(self) -> &'static str {
        match self {
            Self::Worker => "test-worker",
            Self::Admin => "test-admin",
            Self::Store1 => "test-store-001",
        }
    }

    pub fn secret(self) -> &'static str {
        match self {
            Self::Worker => "worker-secret-for-tests-0001",
            Self::Admin => "admin-secret-for-tests-0001",
            Self::Store1 => "store-secret-for-tests-0001",
        }
    }

    pub fn role(self) -> Role {
        match self {
            Self::Worker => Role::SyncWorker,
            Self::Admin => Role::Admin,
            Self::Store1 => Role::Store,
        }
    }
}

/// Records the stores nudged after head-office changes.
#[derive(Default)]
pub struct RecordingNudger(Mutex<Vec<String>>);

impl RecordingNudger {
    pub fn nudged(&self) -> Vec<String> {
        self.0.lock().expect("nudger lock").clone()
    }
}

impl StoreNudger for RecordingNudger {
    fn nudge(&self, store_id: &StoreId) {
        self.0
            .lock()
            .expect("nudger lock")
            .push(store_id.to_string());
    }
}

/// How a token request presents the client's credentials.
#[derive(Debug, Clone, Copy)]
pub enum Credentials {
    /// `client_id` and `client_secret` in the form body.
    Form,
    /// HTTP Basic, with only `grant_type` in the form body.
    Basic,
    /// Every field in a JSON body.
    Json,
}

/// `POST {url}` for a client-credentials token, presenting `id` and
/// `secret` as `how` says.
pub async fn request_token(
    http: &reqwest::Client,
    url: &str,
    how: Credentials,
    id: &str,
    secret: &str,
) -> Response {
    const GRANT: (&str, &str) = ("grant_type", "client_credentials");
    let request = http.post(url);
    let request = match how {
        Credentials::Form => request.form(&[GRANT, ("client_id", id), ("client_secret", secret)]),
        Credentials::Basic => request.basic_auth(id, Some(secret)).form(&[GRANT]),
        Credentials::Json => request.json(&json!({
            "grant_type": GRANT.1,
            "client_id": id,
            "client_secret": secret,
        })),
    };
    request.send().await.expect("token request")
}

/// Asserts an answer's status and error `code`.
pub fn assert_refused(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["code"], code, "{body}");
}

/// A response's status and JSON body (`Value::Null` if not JSON).
pub async fn json_body(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("response body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A change for a batch.
pub fn change(operation_id: Uuid, sku: &str, delta: i64, expected_version: Option<i64>) -> Value {
    json!({
        "operation_id": operation_id,
        "sku": sku,
        "delta": delta,
        "expected_version": expected_version,
        "occurred_at": "2026-11-25T12:00:00Z",
    })
}

/// A single change body for the changes endpoint.
pub fn single(operation_id: Uuid, delta: i64, expected_version: Option<i64>) -> Value {
    json!({ "operation_id": operation_id, "delta": delta, "expected_version": expected_version })
}

/// A fresh operation id.
pub fn op() -> Uuid {
    Uuid::now_v7()
}
