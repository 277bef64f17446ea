//! `spawn_app()` and `TestApp`: a fresh database (`test_<uuid>`) with
//! migrations, a signing key, clients and the sample catalogue for two
//! stores, and central serving on a free port. Call `app.cleanup().await`
//! at the end of a test; a failed test drops its database on `Drop`.

pub use crate::fixtures::*;

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use central_app::catalogue;
use central_app::config::{DatabaseSettings, Secret, ServeConfig};
use central_app::db::MIGRATOR;
use central_app::ledger::Ledger;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use service_infra::auth::Role;
use service_infra::auth::issuing::clients::{Client, Clients};
use service_infra::auth::issuing::signing::{self as keys, SigningKeys};
use service_infra::sync_bus::DEV_AMQP_URL;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use uuid::Uuid;

/// A running central on its own database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// URL of the test database.
    pub database_url: String,
    pub pool: PgPool,
    pub key_file: PathBuf,
    pub http: reqwest::Client,
    pub nudger: Arc<RecordingNudger>,
    admin_url: String,
    db_name: String,
    server: tokio::task::JoinHandle<()>,
    tokens: Mutex<HashMap<TestClient, String>>,
    cleaned: bool,
}

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

async fn admin_connection(url: &str) -> PgConnection {
    let attempt = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(url)).await;
    match attempt {
        Ok(Ok(conn)) => conn,
        Ok(Err(err)) => panic!(
            "cannot reach PostgreSQL at {url}: {err}. These tests need a running PostgreSQL: \
             start it (e.g. scripts/ensure-services.sh) or set TEST_DATABASE_URL"
        ),
        Err(_) => panic!(
            "PostgreSQL at {url} did not answer within 10 s. These tests need a running \
             PostgreSQL: start it (e.g. scripts/ensure-services.sh) or set TEST_DATABASE_URL"
        ),
    }
}

/// The broker tests publish to.
pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL").unwrap_or_else(|_| DEV_AMQP_URL.to_owned())
}

/// Starts central on a fresh database with clients and two populated stores.
pub async fn spawn_app() -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        service_infra::init_tracing(service_infra::LogFormat::Pretty);
    }
    let admin_url = admin_url();
    let db_name = format!("test_{}", Uuid::new_v4().simple());
    let mut admin = admin_connection(&admin_url).await;
    sqlx::query(&format!(r#"CREATE DATABASE "{db_name}""#))
        .execute(&mut admin)
        .await
        .expect("create test database");
    admin.close().await.expect("close admin connection");

    let options = PgConnectOptions::from_str(&admin_url)
        .expect("TEST_DATABASE_URL is a PostgreSQL URL")
        .database(&db_name);
    let database_url = options.to_url_lossy().to_string();
    let settings = DatabaseSettings {
        database_url: Secret::new(database_url.clone()),
        database_max_connections: Some(20),
    };
    let pool = settings.pool(20).expect("test pool");
    MIGRATOR.run(&pool).await.expect("run migrations");

    let key_file = std::env::temp_dir().join(format!("{db_name}.pem"));
    keys::generate(&key_file, false).expect("generate signing key");

    let clients = Clients::new(pool.clone(), &Role::CENTRAL).expect("clients");
    for client in [TestClient::Worker, TestClient::Admin, TestClient::Store1] {
        let store_id = (client == TestClient::Store1).then(|| STORE_1.parse().expect("store id"));
        let record = Client {
            client_id: client.id().to_owned(),
            role: client.role(),
            store_id,
        };
        clients
            .save(&record, &Secret::new(client.secret()))
            .await
            .expect("create client");
    }
    let ledger = Ledger::new(pool.clone());
    for store in [STORE_1, STORE_2] {
        ledger
            .register(&store.parse().expect("store id"), &catalogue::sample())
            .await
            .expect("populate");
    }

    let config = ServeConfig {
        database: settings,
        bind_addr: "127.0.0.1:0".parse().expect("address"),
        jwt_private_key_file: key_file.clone(),
        token_ttl: Duration::from_secs(900).into(),
        amqp_url: Secret::new(DEV_AMQP_URL),
        // Unused: tests plug in a recording nudger instead of the broker.
        amqp_exchange: "test-unused".into(),
        // The outbox is not published (tests of it start a publisher on
        // an exchange of their own).
        events_exchange: "test-unused".into(),
        hold_expiry_interval: Duration::from_millis(200).into(),
    };
    let nudger = Arc::new(RecordingNudger::default());
    let app = central_app::startup::build_with_nudger(config, nudger.clone())
        .await
        .expect("build application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(async move {
        app.run_until_stopped(std::future::pending())
            .await
            .expect("server failed");
    });
    TestApp {
        address,
        database_url,
        pool,
        key_file,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client"),
        nudger,
        admin_url,
        db_name,
        server,
        tokens: Mutex::new(HashMap::new()),
        cleaned: false,
    }
}

async fn drop_database(admin_url: &str, db_name: &str) {
    let mut admin = admin_connection(admin_url).await;
    sqlx::query(&format!(
        r#"DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)"#
    ))
    .execute(&mut admin)
    .await
    .expect("drop test database");
}

impl TestApp {
    /// Stops the server and drops the database.
    pub async fn cleanup(mut self) {
        self.server.abort();
        self.pool.close().await;
        drop_database(&self.admin_url, &self.db_name).await;
        let _ = std::fs::remove_file(&self.key_file);
        self.cleaned = true;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A `method` request to `path` on this app, to finish and send.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// The signing key of this app.
    pub fn keys(&self) -> SigningKeys {
        SigningKeys::load(&self.key_file).expect("load key")
    }

    /// A token for `client`, fetched once per test.
    pub async fn token(&self, client: TestClient) -> String {
        if let Some(token) = self.tokens.lock().expect("token cache").get(&client) {
            return token.clone();
        }
        let response = self
            .request_token(Credentials::Form, client.id(), client.secret())
            .await;
        let (status, body) = json_body(response).await;
        assert_eq!(status, StatusCode::OK, "token request failed: {body}");
        let token = body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        self.tokens
            .lock()
            .expect("token cache")
            .insert(client, token.clone());
        token
    }

    /// `POST /auth/token` for `id` and `secret`, presented as `how` says.
    pub async fn request_token(&self, how: Credentials, id: &str, secret: &str) -> Response {
        request_token(&self.http, &self.url("/auth/token"), how, id, secret).await
    }

    pub async fn post_json(&self, token: Option<&str>, path: &str, body: &Value) -> Response {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    /// `/metrics` as text.
    pub async fn metrics_text(&self) -> String {
        let response = self.get(None, "/metrics").await;
        response.text().await.expect("metrics")
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> Response {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    /// `GET {path}` as `client`.
    pub async fn get_as(&self, client: TestClient, path: &str) -> (StatusCode, Value) {
        let token = self.token(client).await;
        json_body(self.get(Some(&token), path).await).await
    }

    /// `POST {path}` with a JSON `body` as `client`.
    pub async fn post_as(
        &self,
        client: TestClient,
        path: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let token = self.token(client).await;
        json_body(self.post_json(Some(&token), path, body).await).await
    }

    /// `POST /v1/sync/batch` as the worker.
    pub async fn push_batch(&self, store_id: &str, changes: Vec<Value>) -> (StatusCode, Value) {
        let body = json!({ "store_id": store_id, "changes": changes });
        self.post_as(TestClient::Worker, "/v1/sync/batch", &body)
            .await
    }

    /// `POST /v1/stores/{store}/inventory/{sku}/changes` as the worker.
    pub async fn push_change(
        &self,
        store_id: &str,
        sku: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let path = format!("/v1/stores/{store_id}/inventory/{sku}/changes");
        self.post_as(TestClient::Worker, &path, body).await
    }

    /// The worker pushes one change of STORE-001's camera.
    pub async fn push_camera_change(
        &self,
        operation_id: Uuid,
        delta: i64,
        expected_version: Option<i64>,
    ) -> (StatusCode, Value) {
        let body = single(operation_id, delta, expected_version);
        self.push_change(STORE_1, CAMERA, &body).await
    }

    /// `POST /v1/stores/{store}/inventory/{sku}/adjust` as an admin.
    pub async fn adjust(&self, store_id: &str, sku: &str, body: &Value) -> (StatusCode, Value) {
        let path = format!("/v1/stores/{store_id}/inventory/{sku}/adjust");
        self.post_as(TestClient::Admin, &path, body).await
    }

    /// `GET /v1/stores/{store}/inventory/{sku}` as the worker.
    pub async fn item(&self, store_id: &str, sku: &str) -> (StatusCode, Value) {
        let path = format!("/v1/stores/{store_id}/inventory/{sku}");
        self.get_as(TestClient::Worker, &path).await
    }

    /// Waits until every committed event is below the log's read horizon.
    /// The log API only returns events of transactions older than every
    /// running one, and tests running in parallel keep transactions open on
    /// the same server for a moment.
    pub async fn wait_for_log_horizon(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let hidden: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM events WHERE tx_id >= pg_snapshot_xmin(pg_current_snapshot())",
            )
            .fetch_one(&self.pool)
            .await
            .expect("count events above the horizon");
            if hidden == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{hidden} committed events stayed above the read horizon for 20 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `GET /v1/events?..` as the worker, once every committed event is
    /// readable.
    pub async fn events(&self, query: &str) -> (StatusCode, Value) {
        self.wait_for_log_horizon().await;
        self.get_as(TestClient::Worker, &format!("/v1/events?{query}"))
            .await
    }

    /// Events in the log, counted in the database.
    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.pool)
            .await
            .expect("count events")
    }

    /// `central-app clients create --id {id} --role {role} {more..}`.
    pub async fn create_client(&self, id: &str, role: &str, more: &[&str]) -> std::process::Output {
        let mut args = vec!["clients", "create", "--id", id, "--role", role];
        args.extend_from_slice(more);
        self.run_cli(&args).await
    }

    /// Runs the `central-app` binary against this app's database.
    pub async fn run_cli(&self, args: &[&str]) -> std::process::Output {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_central-app"))
            .args(args)
            .env("DATABASE_URL", &self.database_url)
            .env("LOG_FORMAT", "json")
            .env_remove("RUST_LOG")
            .output()
            .await
            .expect("run central-app")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        self.server.abort();
        let (admin_url, db_name) = (self.admin_url.clone(), self.db_name.clone());
        let _ = std::fs::remove_file(&self.key_file);
        // A failed test never reaches cleanup(); drop the database on a
        // thread of its own, as the test's runtime may be shutting down.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(drop_database(&admin_url, &db_name));
        });
        let _ = dropper.join();
    }
}
