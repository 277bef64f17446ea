//! Typed HTTP helpers for the stack's processes: a store's local API,
//! central's API (with an admin token), and any process's metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use uuid::Uuid;

/// An accepted store update.
#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    pub operation_id: Uuid,
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

/// A store's SKU at central.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct CentralItem {
    pub quantity: i64,
    pub version: i64,
}

/// One store's local API.
#[derive(Debug, Clone)]
pub struct StoreApi {
    pub id: String,
    pub url: String,
    http: Client,
}

impl StoreApi {
    pub fn new(id: String, url: String, http: Client) -> Self {
        Self { id, url, http }
    }

    /// `POST /v1/local/inventory/{sku}/update`: the status and JSON body.
    pub async fn try_update(
        &self,
        sku: &str,
        delta: i64,
        version: Option<i64>,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/v1/local/inventory/{sku}/update", self.url))
            .json(&json!({ "delta": delta, "version": version }))
            .send()
            .await
            .expect("store answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
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

    async fn get<T: for<'de> Deserialize<'de>>(&self, path: &str) -> T {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap_or_else(|e| panic!("store {} unreachable: {e}", self.id));
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "GET {path} at store {}: {status} {body}",
            self.id
        );
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }
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
        let response = self
            .http
            .post(format!(
                "{}/v1/stores/{store}/inventory/{sku}/adjust",
                self.url
            ))
            .bearer_auth(self.token().await)
            .json(&json!({ "delta": delta, "expected_version": expected_version, "reason": "e2e" }))
            .send()
            .await
            .expect("central answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The operation ids of every `ChangeApplied` of `store`, in log order.
    pub async fn applied_operations(&self, store: &str) -> Vec<Uuid> {
        let mut operations = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![("store_id", store.to_owned()), ("limit", "1000".to_owned())];
            if let Some(after) = &after {
                query.push(("after", after.clone()));
            }
            let page: Value = self.get("/v1/events", &query).await;
            for event in page["events"].as_array().expect("events") {
                if event["event_type"] == "ChangeApplied" {
                    let id = event["payload"]["ChangeApplied"]["operation_id"]
                        .as_str()
                        .expect("operation_id");
                    operations.push(id.parse().expect("uuid"));
                }
            }
            match page["next_cursor"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return operations,
            }
        }
    }

    async fn get<T: for<'de> Deserialize<'de>>(&self, path: &str, query: &[(&str, String)]) -> T {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .query(query)
            .bearer_auth(self.token().await)
            .send()
            .await
            .unwrap_or_else(|e| panic!("central unreachable: {e}"));
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "GET {path} at central: {status} {body}"
        );
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }
}

/// A process's `/metrics` (a worker's, or a store's).
#[derive(Debug, Clone)]
pub struct MetricsApi {
    pub url: String,
    http: Client,
}

impl MetricsApi {
    pub fn new(url: String, http: Client) -> Self {
        Self { url, http }
    }

    /// Waits (failing after `timeout`) until [`MetricsApi::metric`] of
    /// `name` and `labels` reaches `at_least`.
    pub async fn wait_for_metric(
        &self,
        name: &str,
        labels: &str,
        at_least: f64,
        timeout: Duration,
    ) {
        let what = format!("{name}{{{labels}}} ≥ {at_least}");
        super::wait::wait_until(&what, timeout, || async {
            self.metric(name, labels).await >= at_least
        })
        .await;
    }

    /// The sum of every sample of `name` whose labels contain `labels`
    /// (e.g. `outcome="ok"`); 0 when absent or unreachable.
    pub async fn metric(&self, name: &str, labels: &str) -> f64 {
        let Ok(response) = self.http.get(format!("{}/metrics", self.url)).send().await else {
            return 0.0;
        };
        let text = response.text().await.unwrap_or_default();
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.rsplit_once(' '))
            .filter(|(series, _)| {
                let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
                metric == name && rest.contains(labels)
            })
            .filter_map(|(_, value)| value.parse::<f64>().ok())
            .sum()
    }
}
