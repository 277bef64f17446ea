//! `spawn_app()`: a store on a fresh database with the sample catalogue, a
//! fake central serving a JWKS for worker tokens, and typed request helpers.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::routing::get;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, KeypairBytes};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use service_infra::auth::issuing::clients::{Client, Clients};
use service_infra::auth::{AUDIENCE, Claims, ISSUER, Role};
use service_infra::db::DatabaseSettings;
use service_infra::secret::Secret;
use sqlx::{Connection, PgConnection, PgPool};
use store_app::config::{LocalAuth, ServeConfig};
use uuid::Uuid;

pub const STORE_ID: &str = "STORE-001";
pub const LAPTOP: &str = "ELEC-LAPTOP-001";

/// The PostgreSQL server tests create their databases on.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The broker tests publish to.
pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn database_url(name: &str) -> String {
    let server = server_url();
    let base = server
        .rsplit_once('/')
        .map_or(server.as_str(), |(base, _)| base);
    format!("{base}/{name}")
}

/// A fresh database with the store's migrations and the sample catalogue;
/// dropped when the value is dropped.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let mut admin = PgConnection::connect(&server_url())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is not reachable at {} ({e}). Start it: \
                 pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
                    server_url()
                )
            });
        let name = format!("test_{}", Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let url = database_url(&name);
        DatabaseSettings::new(url.clone())
            .migrate(&store_app::db::MIGRATOR)
            .await
            .expect("migrate");
        let pool = PgPool::connect(&url)
            .await
            .expect("connect to test database");
        let ledger = store_app::ledger::Ledger::new(pool.clone());
        let items: Vec<_> = domain::catalogue::sample()
            .into_iter()
            .map(|i| (i.sku, i.name, i.quantity))
            .collect();
        ledger.register(&items).await.expect("populate");
        Self { name, url, pool }
    }

    /// A name for a database that does not exist yet, and its URL.
    pub fn fresh_name() -> (String, String) {
        let name = format!("test_{}", Uuid::new_v4().simple());
        let url = database_url(&name);
        (name, url)
    }

    /// Takes charge of an existing database (dropped with the value).
    pub async fn attach(name: String, url: String) -> Self {
        let pool = PgPool::connect(&url)
            .await
            .expect("connect to test database");
        Self { name, url, pool }
    }

    /// How many events the store's log holds.
    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.pool)
            .await
            .expect("count events")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // A signing key a test made for this database's store, if any.
        let key = std::env::temp_dir().join(format!("{}-store-key.pem", self.name));
        let _ = std::fs::remove_file(key);
        let name = self.name.clone();
        run_to_completion(async move {
            if let Ok(mut admin) = PgConnection::connect(&server_url()).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await;
            }
        });
    }
}

/// Runs clean-up work from `Drop`, which cannot await: on a thread and
/// runtime of its own, waiting until it is done.
fn run_to_completion(work: impl std::future::Future<Output = ()> + Send + 'static) {
    let _ = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|runtime| runtime.block_on(work))
    })
    .join();
}

/// A signing key whose JWKS a fake central serves.
pub struct TestKey {
    encoding: EncodingKey,
    pub jwks: JwkSet,
}

impl TestKey {
    pub fn generate() -> Self {
        let signing = SigningKey::from_bytes(&rand::random());
        let pem = KeypairBytes {
            secret_key: signing.to_bytes(),
            public_key: None,
        }
        .to_pkcs8_pem(LineEnding::LF)
        .expect("encode key");
        let encoding = EncodingKey::from_ed_pem(pem.as_bytes()).expect("load key");
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA).expect("jwk");
        jwk.common.key_id = Some("test-key".into());
        Self {
            encoding,
            jwks: JwkSet { keys: vec![jwk] },
        }
    }

    pub fn token(&self, role: Role) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: "test-worker".into(),
            role,
            store_id: None,
            iat: now,
            exp: now + 300,
            jti: Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("test-key".into());
        jsonwebtoken::encode(&header, &claims, &self.encoding).expect("sign")
    }
}

/// Serves `/.well-known/jwks.json` and `/health/live` like central does.
async fn spawn_fake_central(jwks: JwkSet) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = axum::Router::new()
        .route(
            "/.well-known/jwks.json",
            get(move || async move { axum::Json(jwks) }),
        )
        .route("/health/live", get(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// The store's own test clients, one per local role; the secret is the
/// same for all.
pub const MANAGER: &str = "test-manager";
pub const POS: &str = "test-pos";
pub const VIEWER: &str = "test-viewer";
pub const CLIENT_SECRET: &str = "test-client-secret-0001";

/// A running store.
pub struct TestApp {
    pub address: String,
    pub db: TestDatabase,
    pub key: TestKey,
    pub exchange: String,
    pub client: reqwest::Client,
    /// A manager's token from the store itself, sent on every `/v1/local`
    /// request made with [`TestApp::request`].
    pub local_token: String,
    /// The store's signing key file.
    pub store_key_file: std::path::PathBuf,
}

/// Starts a store with a reachable broker.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_broker(amqp_url()).await
}

/// Starts a store whose broker is at `amqp_url` (possibly unreachable).
pub async fn spawn_app_with_broker(amqp_url: String) -> TestApp {
    spawn(amqp_url, LocalAuth::Required).await
}

/// Starts a store with `LOCAL_AUTH=off` (no token on the local API).
pub async fn spawn_app_without_local_auth() -> TestApp {
    spawn(amqp_url(), LocalAuth::Off).await
}

async fn spawn(amqp_url: String, local_auth: LocalAuth) -> TestApp {
    let db = TestDatabase::create().await;
    let key = TestKey::generate();
    let central = spawn_fake_central(key.jwks.clone()).await;
    let exchange = format!("test-{}", Uuid::new_v4().simple());
    let store_key_file = std::env::temp_dir().join(format!("store-key-{}.pem", Uuid::new_v4()));
    service_infra::auth::issuing::signing::generate(&store_key_file, false).expect("store key");
    create_local_clients(&db.url).await;
    let config = ServeConfig {
        store_id: STORE_ID.parse().expect("store id"),
        database: DatabaseSettings {
            database_url: Secret::new(db.url.clone()),
            database_max_connections: Some(8),
        },
        amqp_url: Secret::new(amqp_url),
        amqp_exchange: exchange.clone(),
        bind_addr: "127.0.0.1:0".parse().expect("addr"),
        central_url: format!("http://{central}"),
        local_auth,
        jwt_private_key_file: Some(store_key_file.clone()),
        token_ttl: std::time::Duration::from_secs(900).into(),
    };
    let app = store_app::startup::build(config).await.expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let mut app = TestApp {
        address,
        db,
        key,
        exchange,
        client: reqwest::Client::new(),
        local_token: String::new(),
        store_key_file,
    };
    app.local_token = app.local_token_for(MANAGER).await;
    app
}

/// Saves one client per local role in the store's database.
async fn create_local_clients(database_url: &str) {
    let pool = PgPool::connect(database_url).await.expect("connect");
    let clients = Clients::new(pool.clone(), &Role::LOCAL).expect("clients");
    for (client_id, role) in [
        (MANAGER, Role::Manager),
        (POS, Role::Pos),
        (VIEWER, Role::Viewer),
    ] {
        let client = Client {
            client_id: client_id.to_owned(),
            role,
            store_id: None,
        };
        let secret = Secret::new(CLIENT_SECRET);
        clients.save(&client, &secret).await.expect("save client");
    }
    pool.close().await;
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.store_key_file);
        let exchange = self.exchange.clone();
        // The store declared its nudge exchange; remove it.
        run_to_completion(async move {
            let props = lapin::ConnectionProperties::default();
            if let Ok(connection) = lapin::Connection::connect(&amqp_url(), props).await {
                if let Ok(channel) = connection.create_channel().await {
                    let _ = channel
                        .exchange_delete(exchange.as_str().into(), Default::default())
                        .await;
                }
                let _ = connection.close(200, "test done".into()).await;
            }
        });
    }
}

impl TestApp {
    /// A `method` request to `path` on this store, to finish and send; a
    /// `/v1/local` request carries the manager's token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if path.starts_with("/v1/local") {
            request.bearer_auth(&self.local_token)
        } else {
            request
        }
    }

    /// The store's answer to a token request with client credentials.
    pub async fn token_response(&self, client_id: &str, secret: &str) -> reqwest::Response {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ];
        let url = format!("{}/auth/token", self.address);
        send(self.client.post(url).form(&form)).await
    }

    /// A token the store issues to `client_id` (one of the test clients).
    pub async fn local_token_for(&self, client_id: &str) -> String {
        let response = self.token_response(client_id, CLIENT_SECRET).await;
        assert_eq!(response.status(), 200, "token for {client_id}");
        let body: Value = response.json().await.expect("token json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub async fn post_update(&self, sku: &str, body: Value) -> reqwest::Response {
        let path = format!("/v1/local/inventory/{sku}/update");
        send(self.request(Method::POST, &path).json(&body)).await
    }

    /// The JSON answer to an update of `sku`.
    pub async fn post_update_json(&self, sku: &str, body: Value) -> Value {
        json_of(self.post_update(sku, body).await).await
    }

    /// Updates the laptop; returns the update's operation id.
    pub async fn update_laptop(&self, body: Value) -> String {
        let answer = self.post_update_json(LAPTOP, body).await;
        answer["operation_id"].as_str().expect("id").to_owned()
    }

    /// `POST {path}` with a raw `body` of `content_type`.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let request = self.request(Method::POST, path);
        send(request.header("content-type", content_type).body(body)).await
    }

    /// `POST /v1/local/sync/trigger`.
    pub async fn trigger_sync(&self) -> reqwest::Response {
        send(self.request(Method::POST, "/v1/local/sync/trigger")).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        send(self.request(Method::GET, path)).await
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        json_of(response).await
    }

    pub async fn stock(&self, sku: &str) -> Value {
        self.get_json(&format!("/v1/local/inventory/{sku}")).await
    }

    /// The sync status of the change `operation_id`.
    pub async fn sync_status(&self, operation_id: &str) -> Value {
        self.get_json(&format!("/v1/local/sync/status/{operation_id}"))
            .await
    }

    /// A `method` request to `path` with a sync-worker token.
    fn as_worker(&self, method: Method, path: &str) -> RequestBuilder {
        let token = self.key.token(Role::SyncWorker);
        self.request(method, path).bearer_auth(token)
    }

    pub async fn worker_get(&self, path: &str) -> reqwest::Response {
        send(self.as_worker(Method::GET, path)).await
    }

    /// The JSON body of a worker GET.
    pub async fn worker_get_json(&self, path: &str) -> Value {
        json_of(self.worker_get(path).await).await
    }

    pub async fn worker_post(&self, path: &str, body: Value) -> reqwest::Response {
        send(self.as_worker(Method::POST, path).json(&body)).await
    }

    /// The JSON body of a worker POST.
    pub async fn worker_post_json(&self, path: &str, body: Value) -> Value {
        json_of(self.worker_post(path, body).await).await
    }

    /// Records central's answer for one change.
    pub async fn record_outcome(
        &self,
        operation_id: &str,
        outcome: &str,
        version: i64,
        quantity: i64,
    ) {
        let body = json!({ "outcomes": [{
            "operation_id": operation_id, "sku": LAPTOP, "outcome": outcome,
            "version": version, "quantity": quantity,
        }]});
        let response = self.worker_post("/v1/sync/outcomes", body).await;
        assert_eq!(response.status(), 200);
    }
}

/// Sends `request`; fails the test if nothing answers.
pub async fn send(request: RequestBuilder) -> reqwest::Response {
    request.send().await.expect("request")
}

/// A response's JSON body.
pub async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("json")
}

/// Asserts an error response's status and `code`; returns the body.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}
