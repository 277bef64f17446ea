//! A store's local API as the tests use it: updates, stock, sync status,
//! every call with a `manager` token the store issued.

use std::time::Duration;

use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{status_and_body, successful_json};
use crate::harness::wait::wait_for;

/// An accepted store update.
#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    pub operation_id: Uuid,
    pub quantity: i64,
    pub status: String,
}

/// A recorded count.
#[derive(Debug, Clone, Deserialize)]
pub struct Count {
    pub operation_id: Uuid,
    pub delta: i64,
    pub quantity: i64,
    pub status: String,
}

/// A SKU's stock at a store.
#[derive(Debug, Clone, Deserialize)]
pub struct Stock {
    pub sku: String,
    pub quantity: i64,
    pub confirmed_quantity: i64,
    pub confirmed_version: i64,
    pub version: i64,
    pub pending_changes: i32,
    pub last_counted_at: Option<String>,
}

#[derive(Deserialize)]
struct StockPage {
    items: Vec<Stock>,
    next_cursor: Option<String>,
}

/// A change's sync status at a store.
#[derive(Debug, Clone, Deserialize)]
pub struct SyncStatus {
    pub status: String,
    pub ok: bool,
    pub reason: Option<String>,
    pub central_version: Option<i64>,
}

/// One store's local API.
#[derive(Debug, Clone)]
pub struct StoreApi {
    pub id: String,
    pub url: String,
    http: Client,
    /// The store's `manager` client: id and secret.
    manager: (String, String),
    /// The manager's token, once [`StoreApi::sign_in`] got it.
    token: String,
}

impl StoreApi {
    pub fn new(id: String, url: String, http: Client, manager: (String, String)) -> Self {
        Self {
            id,
            url,
            http,
            manager,
            token: String::new(),
        }
    }

    /// The manager's client id.
    pub fn manager_id(&self) -> &str {
        &self.manager.0
    }

    /// `POST /auth/token` at the store with the manager's credentials: the
    /// status and JSON body.
    pub async fn request_token(&self) -> (StatusCode, Value) {
        let (client_id, secret) = &self.manager;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
        ];
        let request = self
            .http
            .post(format!("{}/auth/token", self.url))
            .form(&form);
        status_and_body(request, "store").await
    }

    /// Gets the manager's token from the store; every later call carries it.
    pub async fn sign_in(&mut self) {
        let (status, body) = self.request_token().await;
        assert_eq!(
            status,
            StatusCode::OK,
            "no token from store {}: {body}",
            self.id
        );
        self.token = body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
    }

    /// The manager's token (empty before [`StoreApi::sign_in`]).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A `method` request to the store's `path`, with the manager's token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
    }

    /// `POST /v1/local/inventory/{sku}/update`: the status and JSON body.
    pub async fn try_update(
        &self,
        sku: &str,
        delta: i64,
        version: Option<i64>,
    ) -> (StatusCode, Value) {
        self.try_change(&json!({ "delta": delta, "version": version }), sku)
            .await
    }

    /// `POST /v1/local/inventory/{sku}/update` with `body`: the status and
    /// JSON body.
    pub async fn try_change(&self, body: &Value, sku: &str) -> (StatusCode, Value) {
        let path = format!("/v1/local/inventory/{sku}/update");
        let request = self.request(Method::POST, &path).json(body);
        status_and_body(request, "store").await
    }

    /// `POST /v1/local/inventory/{sku}/count` with `counted`: the status
    /// and JSON body.
    pub async fn try_count(&self, sku: &str, counted: i64) -> (StatusCode, Value) {
        let path = format!("/v1/local/inventory/{sku}/count");
        let request = self
            .request(Method::POST, &path)
            .json(&json!({ "counted": counted, "reason": "e2e count" }));
        status_and_body(request, "store").await
    }

    /// A count that must be recorded.
    pub async fn count(&self, sku: &str, counted: i64) -> Count {
        let (status, body) = self.try_count(sku, counted).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "count of {sku} at {counted} refused: {body}"
        );
        serde_json::from_value(body).expect("count response")
    }

    /// `POST /v1/local/transfers/{id}/ship`: status and body.
    pub async fn ship(&self, transfer_id: &str) -> (StatusCode, Value) {
        let path = format!("/v1/local/transfers/{transfer_id}/ship");
        status_and_body(self.request(Method::POST, &path), "store").await
    }

    /// `POST /v1/local/transfers/{id}/receive` with `received` units:
    /// status and body.
    pub async fn receive(&self, transfer_id: &str, received: i64) -> (StatusCode, Value) {
        let path = format!("/v1/local/transfers/{transfer_id}/receive");
        let request = self
            .request(Method::POST, &path)
            .json(&json!({ "received": received }));
        status_and_body(request, "store").await
    }

    /// `GET /v1/local/transfers/{id}`: status and body (404 until central
    /// told the store of it).
    pub async fn transfer(&self, transfer_id: &str) -> (StatusCode, Value) {
        let path = format!("/v1/local/transfers/{transfer_id}");
        status_and_body(self.request(Method::GET, &path), "store").await
    }

    /// Waits (failing after `timeout`) until the store's copy of a transfer
    /// stands at `local_status` here; the copy.
    pub async fn transfer_reaches(
        &self,
        transfer_id: &str,
        local_status: &str,
        timeout: Duration,
    ) -> Value {
        let what = format!("transfer {transfer_id} {local_status} at {}", self.id);
        let (copy, _) = wait_for(&what, timeout, || async {
            let (status, body) = self.transfer(transfer_id).await;
            (status == StatusCode::OK && body["local_status"] == local_status).then_some(body)
        })
        .await;
        copy
    }

    /// `POST /v1/local/reservations/{id}/fulfil`: status and body.
    pub async fn fulfil(&self, reservation_id: &str) -> (StatusCode, Value) {
        let path = format!("/v1/local/reservations/{reservation_id}/fulfil");
        status_and_body(self.request(Method::POST, &path), "store").await
    }

    /// The SKU's stock as JSON (`reserved` and `available` included).
    pub async fn stock_json(&self, sku: &str) -> Value {
        self.get(&format!("/v1/local/inventory/{sku}")).await
    }

    /// An update that must be accepted.
    pub async fn update(&self, sku: &str, delta: i64, version: Option<i64>) -> Update {
        let (status, body) = self.try_update(sku, delta, version).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "update of {sku} by {delta} refused: {body}"
        );
        serde_json::from_value(body).expect("update response")
    }

    /// A SKU's stock.
    pub async fn stock(&self, sku: &str) -> Stock {
        self.get(&format!("/v1/local/inventory/{sku}")).await
    }

    /// Every SKU's stock.
    pub async fn inventory(&self) -> Vec<Stock> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let query = cursor
                .as_ref()
                .map_or(String::new(), |c| format!("&cursor={c}"));
            let page: StockPage = self
                .get(&format!("/v1/local/inventory?limit=500{query}"))
                .await;
            items.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return items,
            }
        }
    }

    /// A change's sync status.
    pub async fn status(&self, operation_id: Uuid) -> SyncStatus {
        self.get(&format!("/v1/local/sync/status/{operation_id}"))
            .await
    }

    /// Waits (failing after `timeout`) until a change is decided, `synced`
    /// or `rejected`; its status.
    pub async fn decided(&self, operation_id: Uuid, timeout: Duration) -> SyncStatus {
        let what = format!("change {operation_id} at {} to be decided", self.id);
        let (status, _) = wait_for(&what, timeout, || async {
            let status = self.status(operation_id).await;
            (status.status != "pending" && status.status != "retrying").then_some(status)
        })
        .await;
        status
    }

    /// `GET {path}` at the store, which must succeed, as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> T {
        let response = self
            .request(Method::GET, path)
            .send()
            .await
            .unwrap_or_else(|e| panic!("store {} unreachable: {e}", self.id));
        successful_json(response, &format!("GET {path} at store {}", self.id)).await
    }
}
