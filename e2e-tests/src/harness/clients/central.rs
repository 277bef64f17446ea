//! Central's API as head office (role `admin`) uses it: items, adjustments
//! and the event log, with a cached admin token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::{status_and_body, successful_json};

/// A store's SKU at central.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct CentralItem {
    pub quantity: i64,
    pub version: i64,
}

/// Central's API, as head office (role `admin`).
#[derive(Debug, Clone)]
pub struct CentralApi {
    pub url: String,
    http: Client,
    admin: (String, String),
    token: Arc<Mutex<Option<(String, Instant)>>>,
}

impl CentralApi {
    pub fn new(url: String, http: Client, admin_id: String, admin_secret: String) -> Self {
        Self {
            url,
            http,
            admin: (admin_id, admin_secret),
            token: Arc::new(Mutex::new(None)),
        }
    }

    /// The admin client's id and secret.
    pub fn admin_credentials(&self) -> (&str, &str) {
        (&self.admin.0, &self.admin.1)
    }

    /// An admin token, reused for half its lifetime.
    async fn token(&self) -> String {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return token.clone();
        }
        let body: Value = self
            .http
            .post(format!("{}/auth/token", self.url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.admin.0.as_str()),
                ("client_secret", self.admin.1.as_str()),
            ])
            .send()
            .await
            .expect("central answers /auth/token")
            .json()
            .await
            .expect("token JSON");
        let token = body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        let ttl = body["expires_in"].as_u64().unwrap_or(60);
        *cached = Some((token.clone(), Instant::now() + Duration::from_secs(ttl) / 2));
        token
    }

    /// A store's SKU at central.
    pub async fn item(&self, store: &str, sku: &str) -> CentralItem {
        self.get(&format!("/v1/stores/{store}/inventory/{sku}"), &[])
            .await
    }

    /// A head-office change: status and body.
    pub async fn adjust(
        &self,
        store: &str,
        sku: &str,
        delta: i64,
        expected_version: Option<i64>,
    ) -> (StatusCode, Value) {
        let request = self
            .http
            .post(format!(
                "{}/v1/stores/{store}/inventory/{sku}/adjust",
                self.url
            ))
            .bearer_auth(self.token().await)
            .json(
                &json!({ "delta": delta, "expected_version": expected_version, "reason": "e2e" }),
            );
        status_and_body(request, "central").await
    }

    /// `POST /v1/transfers`: head office asks `from` to send `quantity`
    /// units of `sku` to `to`; status and body.
    pub async fn request_transfer(
        &self,
        from: &str,
        to: &str,
        sku: &str,
        quantity: i64,
    ) -> (StatusCode, Value) {
        let body = json!({ "from_store": from, "to_store": to, "sku": sku, "quantity": quantity });
        let request = self
            .http
            .post(format!("{}/v1/transfers", self.url))
            .bearer_auth(self.token().await)
            .json(&body);
        status_and_body(request, "central").await
    }

    /// `POST /v1/transfers/{id}/cancel`: status and body.
    pub async fn cancel_transfer(&self, id: &str) -> (StatusCode, Value) {
        let request = self
            .http
            .post(format!("{}/v1/transfers/{id}/cancel", self.url))
            .bearer_auth(self.token().await);
        status_and_body(request, "central").await
    }

    /// A transfer as central has it.
    pub async fn transfer(&self, id: &str) -> Value {
        self.get(&format!("/v1/transfers/{id}"), &[]).await
    }

    /// `POST /v1/stores/{store}/reservations`: a hold of `quantity` units
    /// of `sku` for `expires_in` seconds; status and body.
    pub async fn hold(
        &self,
        store: &str,
        sku: &str,
        quantity: i64,
        expires_in: i64,
    ) -> (StatusCode, Value) {
        let body = json!({ "sku": sku, "quantity": quantity, "expires_in": expires_in });
        let request = self
            .http
            .post(format!("{}/v1/stores/{store}/reservations", self.url))
            .bearer_auth(self.token().await)
            .json(&body);
        status_and_body(request, "central").await
    }

    /// A reservation as central has it.
    pub async fn reservation(&self, id: &str) -> Value {
        self.get(&format!("/v1/reservations/{id}"), &[]).await
    }

    /// A store's SKU at central, whole (`reserved`, `available` included).
    pub async fn item_json(&self, store: &str, sku: &str) -> Value {
        self.get(&format!("/v1/stores/{store}/inventory/{sku}"), &[])
            .await
    }

    /// `PUT …/reorder-point`: status and body.
    pub async fn reorder_point(&self, store: &str, sku: &str, level: i64) -> (StatusCode, Value) {
        let request = self
            .http
            .put(format!(
                "{}/v1/stores/{store}/inventory/{sku}/reorder-point",
                self.url
            ))
            .bearer_auth(self.token().await)
            .json(&json!({ "level": level }));
        status_and_body(request, "central").await
    }

    /// Chain-wide availability of `sku` (`total_quantity`, `in_transit`,
    /// `stores`).
    pub async fn availability(&self, sku: &str) -> Value {
        self.get(&format!("/v1/inventory/{sku}"), &[]).await
    }

    /// The `ChangeApplied` event of `operation_id` in `store`'s log, as
    /// `/v1/events` shows it (payload and metadata), if there is one.
    pub async fn applied_event(&self, store: &str, operation_id: Uuid) -> Option<Value> {
        self.applied_events(store).await.into_iter().find(|event| {
            event["payload"]["ChangeApplied"]["operation_id"] == operation_id.to_string()
        })
    }

    /// The operation ids of every `ChangeApplied` of `store`, in log order.
    pub async fn applied_operations(&self, store: &str) -> Vec<Uuid> {
        let events = self.applied_events(store).await;
        events
            .iter()
            .map(|event| {
                let id = event["payload"]["ChangeApplied"]["operation_id"].as_str();
                id.expect("operation_id").parse().expect("uuid")
            })
            .collect()
    }

    /// Every `ChangeApplied` of `store` as `/v1/events` shows it, in log
    /// order, page after page.
    async fn applied_events(&self, store: &str) -> Vec<Value> {
        let mut applied = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![("store_id", store.to_owned()), ("limit", "1000".to_owned())];
            if let Some(after) = &after {
                query.push(("after", after.clone()));
            }
            let page: Value = self.get("/v1/events", &query).await;
            let events = page["events"].as_array().expect("events");
            applied.extend(
                events
                    .iter()
                    .filter(|e| e["event_type"] == "ChangeApplied")
                    .cloned(),
            );
            match page["next_cursor"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return applied,
            }
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> T {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .query(query)
            .bearer_auth(self.token().await)
            .send()
            .await
            .unwrap_or_else(|e| panic!("central unreachable: {e}"));
        successful_json(response, &format!("GET {path} at central")).await
    }
}
