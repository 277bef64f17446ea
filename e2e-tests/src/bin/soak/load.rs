//! The load: tills at both stores and head office, as real clients behave.
//!
//! - Store updates at `--rate` a second over both stores' SKUs: 80 %
//!   unconditional, 20 % compare-and-set from the version the till last
//!   saw. A request that times out or loses its connection (or meets a
//!   503) is sent again with the same operation id, as a POS does;
//!   "acked" means a 201 on any attempt.
//! - Head-office adjusts at about 2 a second, retried alike; "acked"
//!   means central answered that it applied the change.
//! - 1 % of requests are malformed or abusive; each must get its 4xx JSON
//!   answer, and its operation id must never reach any log.
//! - Every 2 s a store manager reapplies one refused change from a store's
//!   conflict inbox (a 201 is an acknowledged store change; reapplying the
//!   same change again, by two rounds racing, is one change).
//! - 3 % of store requests are physical counts, and every few seconds head
//!   office asks one store to send units to the other (`movements.rs`);
//!   every 2 s it holds units at a store for an online order, which the
//!   store picks up, head office releases, or lets expire (`holds.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e_tests::harness::Stack;

use crate::{holds, movements};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use service_infra::secret::Secret;
use sync_worker::token::TokenSource;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use uuid::Uuid;

/// How long one attempt may take before the client gives up on it.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client keeps retrying one operation.
const GIVE_UP_AFTER: Duration = Duration::from_secs(180);
/// Requests in flight at most (a till waits for its answer).
const IN_FLIGHT: usize = 256;
/// Head-office adjusts per second.
const ADJUST_RATE: f64 = 2.0;
/// How often a store manager looks at the conflict inbox and reapplies the
/// first refused change nobody has reapplied yet.
const INBOX_ROUND: Duration = Duration::from_secs(2);

/// Where an acknowledged change was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Store,
    HeadOffice,
}

/// A change acknowledged: a store's 201, or central's 200 `applied`.
#[derive(Debug, Clone)]
pub struct Acked {
    pub store_id: String,
    pub operation_id: Uuid,
    pub origin: Origin,
    /// The change's kind as its acknowledgement gave it.
    pub kind: String,
}

/// Everything the load saw, shared by its tasks.
#[derive(Debug, Default)]
pub struct Record {
    pub acked: Mutex<Vec<Acked>>,
    /// Operation ids sent only in malformed or abusive requests.
    pub abusive_ids: Mutex<Vec<Uuid>>,
    /// Abusive requests that did not get a 4xx JSON answer, with what they
    /// got.
    pub abusive_misanswered: Mutex<Vec<String>>,
    /// Answers by kind: `store 201`, `store 409`, `adjust 201`, …
    pub answers: Mutex<HashMap<String, u64>>,
    /// Attempts that were retried (timeouts, lost connections, 5xx).
    pub retries: Mutex<u64>,
    /// Operations given up after [`GIVE_UP_AFTER`] (never answered).
    pub abandoned: Mutex<Vec<Uuid>>,
    /// Counts that matched (recorded, nothing to sync): store and id.
    pub matched_counts: Mutex<Vec<(String, Uuid)>>,
    /// Every transfer requested, with the status it must end in
    /// (`received` or `cancelled`; another while its flow still runs).
    pub transfers: Mutex<HashMap<Uuid, &'static str>>,
    /// Every hold placed: its store and reservation id.
    pub holds: Mutex<Vec<(String, Uuid)>>,
}

impl Record {
    pub fn count(&self, kind: &str, status: StatusCode) {
        *lock(&self.answers)
            .entry(format!("{kind} {}", status.as_u16()))
            .or_default() += 1;
    }
}

/// A mutex's contents; a poisoned lock still holds the data we record.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One store as the tills reach it.
#[derive(Clone)]
pub struct Till {
    pub store_id: String,
    pub url: String,
    /// The store's manager token (the harness signed in once; it lives
    /// longer than any soak).
    token: String,
}

/// Head office as its staff reach it, with the admin's tokens from the
/// worker's own token source (refreshed before expiry, or after a 401).
#[derive(Clone)]
pub struct HeadOffice {
    url: String,
    tokens: TokenSource,
}

/// Starts the load; it runs until `stopped` turns true, then waits for
/// every operation in flight to be answered (or given up).
pub fn spawn(
    stack: &Stack,
    skus: Vec<String>,
    rate: f64,
    seed: u64,
    record: Arc<Record>,
    stopped: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let http = Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .build()
        .expect("HTTP client");
    let tills: Vec<Till> = stack
        .stores
        .iter()
        .map(|store| Till {
            store_id: store.id.clone(),
            url: store.url.clone(),
            token: store.token().to_owned(),
        })
        .collect();
    let (client_id, secret) = stack.central.admin_credentials();
    let token_url = format!("{}/auth/token", stack.central.url)
        .parse()
        .expect("central's token URL");
    let fetches = prometheus::IntCounter::new("soak_token_fetches", "admin tokens fetched")
        .expect("a counter");
    let head_office = HeadOffice {
        url: stack.central.url.clone(),
        tokens: TokenSource::new(
            http.clone(),
            token_url,
            client_id.to_owned(),
            Secret::new(secret),
            fetches,
        ),
    };
    tokio::spawn(async move {
        let versions: Arc<Mutex<HashMap<(String, String), i64>>> = Arc::default();
        let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
        let mut tasks = JoinSet::new();
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_10ad);
        let started = Instant::now();
        let mut sent = 0u64;
        let mut adjusts = 0u64;
        let mut inbox_rounds = 0u64;
        let mut transfers = 0u64;
        let mut holds = 0u64;
        while !*stopped.borrow() {
            let elapsed = started.elapsed().as_secs_f64();
            while (sent as f64) < elapsed * rate {
                sent += 1;
                let till = tills[rng.random_range(0..tills.len())].clone();
                let sku = skus[rng.random_range(0..skus.len())].clone();
                let job = StoreJob::draw(&mut rng, &till, &sku, &versions);
                let permit = Arc::clone(&in_flight).acquire_owned().await;
                let (http, record, versions) =
                    (http.clone(), Arc::clone(&record), Arc::clone(&versions));
                tasks.spawn(async move {
                    job.run(&http, &till, &sku, &record, &versions).await;
                    drop(permit);
                });
            }
            while (adjusts as f64) < elapsed * ADJUST_RATE {
                adjusts += 1;
                let store_id = tills[rng.random_range(0..tills.len())].store_id.clone();
                let sku = skus[rng.random_range(0..skus.len())].clone();
                let delta = rng.random_range(1..=5) * if rng.random_bool(0.5) { 1 } else { -1 };
                let (http, record, office) =
                    (http.clone(), Arc::clone(&record), head_office.clone());
                tasks.spawn(async move {
                    office.adjust(&http, &store_id, &sku, delta, &record).await;
                });
            }
            while (inbox_rounds as f64) < elapsed / INBOX_ROUND.as_secs_f64() {
                inbox_rounds += 1;
                let till = tills[rng.random_range(0..tills.len())].clone();
                let (http, record) = (http.clone(), Arc::clone(&record));
                tasks.spawn(async move { till.clear_one_refusal(&http, &record).await });
            }
            while (transfers as f64) < elapsed / movements::TRANSFER_EVERY.as_secs_f64() {
                transfers += 1;
                let flow = movements::TransferFlow::draw(&mut rng, &tills, &skus);
                let (http, record, office) =
                    (http.clone(), Arc::clone(&record), head_office.clone());
                tasks.spawn(async move { flow.run(&http, &office, &record).await });
            }
            while (holds as f64) < elapsed / holds::HOLD_EVERY.as_secs_f64() {
                holds += 1;
                let flow = holds::HoldFlow::draw(&mut rng, &tills, &skus);
                let (http, record, office) =
                    (http.clone(), Arc::clone(&record), head_office.clone());
                tasks.spawn(async move { flow.run(&http, &office, &record).await });
            }
            while tasks.try_join_next().is_some() {}
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        while tasks.join_next().await.is_some() {}
    })
}

/// One store request, drawn from the seed.
enum StoreJob {
    /// A typed change (sale, damage, receipt, return or adjustment, with
    /// a sign that fits), perhaps compare-and-set.
    Update {
        kind: &'static str,
        delta: i64,
        version: Option<i64>,
    },
    /// A physical count: the shelf holds `counted`.
    Count { counted: i64 },
    /// A request that must be refused with this status.
    Abusive {
        expect: StatusCode,
        body: Vec<u8>,
        content_type: &'static str,
        sku: Option<&'static str>,
        operation_id: Uuid,
    },
}

impl StoreJob {
    fn draw(
        rng: &mut StdRng,
        till: &Till,
        sku: &str,
        versions: &Mutex<HashMap<(String, String), i64>>,
    ) -> Self {
        if rng.random_bool(0.01) {
            return Self::abusive(rng);
        }
        if rng.random_bool(0.03) {
            return Self::Count {
                counted: rng.random_range(10..=60),
            };
        }
        let delta = if rng.random_bool(0.7) {
            -rng.random_range(1..=3)
        } else {
            rng.random_range(1..=5)
        };
        let version = if rng.random_bool(0.2) {
            lock(versions)
                .get(&(till.store_id.clone(), sku.to_owned()))
                .copied()
        } else {
            None
        };
        let kind = match (delta < 0, rng.random_range(0..10)) {
            (_, 0) => "adjustment",
            (true, 1) => "damage",
            (true, _) => "sale",
            (false, 1) => "return",
            (false, _) => "receipt",
        };
        Self::Update {
            kind,
            delta,
            version,
        }
    }

    fn abusive(rng: &mut StdRng) -> Self {
        let operation_id = Uuid::now_v7();
        let json = |body: Value| body.to_string().into_bytes();
        let (expect, body, content_type, sku) = match rng.random_range(0..6) {
            0 => (
                StatusCode::BAD_REQUEST,
                format!(r#"{{"delta": -1, "operation_id": "{operation_id}""#).into_bytes(),
                "application/json",
                None,
            ),
            1 => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json(json!({ "delta": -1, "operation_id": operation_id })),
                "text/plain",
                None,
            ),
            2 => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json(json!({ "delta": 0, "operation_id": operation_id })),
                "application/json",
                None,
            ),
            4 => (
                // A sale must remove stock.
                StatusCode::UNPROCESSABLE_ENTITY,
                json(json!({ "kind": "sale", "delta": 2, "operation_id": operation_id })),
                "application/json",
                None,
            ),
            3 => (
                StatusCode::NOT_FOUND,
                json(json!({ "delta": -1, "operation_id": operation_id })),
                "application/json",
                Some("NO-SUCH-SKU"),
            ),
            _ => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json(json!({ "delta": -1, "version": -4, "operation_id": operation_id })),
                "application/json",
                None,
            ),
        };
        Self::Abusive {
            expect,
            body,
            content_type,
            sku,
            operation_id,
        }
    }

    async fn run(
        self,
        http: &Client,
        till: &Till,
        sku: &str,
        record: &Record,
        versions: &Mutex<HashMap<(String, String), i64>>,
    ) {
        match self {
            Self::Update {
                kind,
                delta,
                version,
            } => {
                let operation_id = Uuid::now_v7();
                let body = json!({
                    "kind": kind, "delta": delta, "version": version, "operation_id": operation_id
                });
                let url = format!("{}/v1/local/inventory/{sku}/update", till.url);
                let Some((status, answer)) =
                    send(record, operation_id, || till.post(http, &url).json(&body)).await
                else {
                    return;
                };
                record.count("store", status);
                if let Some(seen) = answer["version"].as_i64() {
                    lock(versions).insert((till.store_id.clone(), sku.to_owned()), seen);
                }
                if status == StatusCode::CREATED {
                    lock(&record.acked).push(Acked {
                        store_id: till.store_id.clone(),
                        operation_id,
                        origin: Origin::Store,
                        kind: kind.to_owned(),
                    });
                }
            }
            Self::Count { counted } => {
                movements::count(http, till, sku, counted, record).await;
            }
            Self::Abusive {
                expect,
                body,
                content_type,
                sku: bad_sku,
                operation_id,
            } => {
                lock(&record.abusive_ids).push(operation_id);
                let url = format!(
                    "{}/v1/local/inventory/{}/update",
                    till.url,
                    bad_sku.unwrap_or(sku)
                );
                let Some((status, answer)) = send(record, operation_id, || {
                    till.post(http, &url)
                        .header("content-type", content_type)
                        .body(body.clone())
                })
                .await
                else {
                    return;
                };
                record.count("abusive", status);
                if status != expect || !answer["code"].is_string() {
                    lock(&record.abusive_misanswered).push(format!(
                        "{operation_id}: expected {expect}, got {status} {answer}"
                    ));
                }
            }
        }
    }
}

impl Till {
    /// A `POST` to the store with its token.
    pub fn post(&self, http: &Client, url: &str) -> RequestBuilder {
        http.post(url).bearer_auth(&self.token)
    }

    /// A `GET` of the store with its token.
    pub fn get(&self, http: &Client, url: &str) -> RequestBuilder {
        http.get(url).bearer_auth(&self.token)
    }

    /// A store manager's round of the conflict inbox: reapplies the first
    /// refused change nobody has reapplied, retrying like a till; a 201 is
    /// an acknowledged store change.
    async fn clear_one_refusal(&self, http: &Client, record: &Record) {
        let url = format!("{}/v1/local/changes?status=rejected&limit=50", self.url);
        let request = http.get(&url).bearer_auth(&self.token);
        let Some((StatusCode::OK, page)) = answer(request).await else {
            return;
        };
        let Some(original) = page["changes"].as_array().and_then(|changes| {
            changes
                .iter()
                .find(|change| change["reapplied_as"].is_null())
                .and_then(|change| change["operation_id"].as_str())
                .and_then(|id| id.parse::<Uuid>().ok())
        }) else {
            return;
        };
        let url = format!("{}/v1/local/changes/{original}/reapply", self.url);
        let Some((status, body)) = send(record, original, || self.post(http, &url)).await else {
            return;
        };
        record.count("reapply", status);
        if status == StatusCode::CREATED
            && let Some(id) = body["operation_id"].as_str().and_then(|id| id.parse().ok())
        {
            let kind = body["kind"].as_str().unwrap_or("none").to_owned();
            lock(&record.acked).push(Acked {
                store_id: self.store_id.clone(),
                operation_id: id,
                origin: Origin::Store,
                kind,
            });
        }
    }
}

impl HeadOffice {
    /// A head-office change, retried with the same operation id until
    /// central answers.
    async fn adjust(&self, http: &Client, store_id: &str, sku: &str, delta: i64, record: &Record) {
        let operation_id = Uuid::now_v7();
        let path = format!("/v1/stores/{store_id}/inventory/{sku}/adjust");
        let body = json!({ "delta": delta, "operation_id": operation_id, "reason": "soak" });
        let Some((status, body)) = self.post(http, &path, &body, operation_id, record).await else {
            return;
        };
        record.count("adjust", status);
        // Central answers an applied change with 200 and the decision; a
        // refusal is a 4xx.
        if status.is_success() && body["outcome"] == "applied" {
            lock(&record.acked).push(Acked {
                store_id: store_id.to_owned(),
                operation_id,
                origin: Origin::HeadOffice,
                kind: "adjustment".to_owned(),
            });
        }
    }

    /// `POST {path}` at central with an admin token, retried (same body)
    /// until central answers with anything but a 5xx; `None` when given up
    /// (recorded under `operation_id`).
    pub async fn post(
        &self,
        http: &Client,
        path: &str,
        body: &Value,
        operation_id: Uuid,
        record: &Record,
    ) -> Option<(StatusCode, Value)> {
        let url = format!("{}{path}", self.url);
        let started = Instant::now();
        loop {
            let Ok(token) = self.tokens.get().await else {
                if started.elapsed() > GIVE_UP_AFTER {
                    lock(&record.abandoned).push(operation_id);
                    return None;
                }
                retry_pause(record).await;
                continue;
            };
            let request = http.post(&url).bearer_auth(token.as_str()).json(body);
            match answer(request).await {
                Some((StatusCode::UNAUTHORIZED, _)) => {
                    self.tokens.invalidate(&token).await;
                    retry_pause(record).await;
                }
                Some((status, body)) if !status.is_server_error() => return Some((status, body)),
                _ if started.elapsed() > GIVE_UP_AFTER => {
                    lock(&record.abandoned).push(operation_id);
                    return None;
                }
                _ => retry_pause(record).await,
            }
        }
    }
}

/// Sends the request `build` makes until a server answers it with
/// anything but a 5xx; `None` when it was given up.
pub async fn send(
    record: &Record,
    operation_id: Uuid,
    build: impl Fn() -> RequestBuilder,
) -> Option<(StatusCode, Value)> {
    let started = Instant::now();
    loop {
        match answer(build()).await {
            Some((status, body)) if !status.is_server_error() => return Some((status, body)),
            _ if started.elapsed() > GIVE_UP_AFTER => {
                lock(&record.abandoned).push(operation_id);
                return None;
            }
            _ => retry_pause(record).await,
        }
    }
}

/// The status and JSON body (`null` when not JSON), or `None` when the
/// attempt timed out or lost its connection.
pub async fn answer(request: RequestBuilder) -> Option<(StatusCode, Value)> {
    let response = request.send().await.ok()?;
    let status = response.status();
    let bytes = response.bytes().await.ok()?;
    Some((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

pub async fn retry_pause(record: &Record) {
    *lock(&record.retries) += 1;
    tokio::time::sleep(Duration::from_millis(250)).await;
}
