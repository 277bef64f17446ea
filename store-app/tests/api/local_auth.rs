//! The local API takes only tokens this store issued (`POST /auth/token`),
//! and each role only what it may do.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};
use service_infra::auth::{Claims, LOCAL_AUDIENCE, Role};
use uuid::Uuid;

use service_infra::auth::issuing::clients::Clients;
use service_infra::auth::issuing::signing::SigningKeys;

use crate::helpers::{
    CLIENT_SECRET, LAPTOP, POS, STORE_ID, TestApp, VIEWER, send, spawn_app,
    spawn_app_without_local_auth,
};

fn update_path() -> String {
    format!("/v1/local/inventory/{LAPTOP}/update")
}

/// `POST update` with `token` (or none) instead of the manager's.
async fn update_with(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let url = format!("{}{}", app.address, update_path());
    let mut request = app.client.post(url).json(&json!({ "delta": -1 }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    send(request).await
}

fn now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    i64::try_from(since.as_secs()).expect("seconds")
}

/// A token signed with the store's own key, with `edit` applied to its
/// claims.
fn signed_by_store(app: &TestApp, edit: impl FnOnce(&mut Claims)) -> String {
    let pem = std::fs::read(&app.store_key_file).expect("key file");
    let keys = store_keys(app);
    let mut claims = Claims {
        iss: STORE_ID.to_owned(),
        aud: LOCAL_AUDIENCE.to_owned(),
        sub: POS.to_owned(),
        role: Role::Pos,
        store_id: None,
        iat: now(),
        exp: now() + 300,
        jti: Uuid::new_v4().to_string(),
    };
    edit(&mut claims);
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(keys.kid().to_owned());
    let key = EncodingKey::from_ed_pem(&pem).expect("encoding key");
    jsonwebtoken::encode(&header, &claims, &key).expect("sign")
}

/// `GET {path}` without a token (the public key set, readiness), as JSON.
async fn public_json(app: &TestApp, path: &str) -> Value {
    serde_json::from_str(&public_text(app, path).await).expect("json")
}

/// `GET {path}` without a token, as text.
async fn public_text(app: &TestApp, path: &str) -> String {
    let response = send(app.client.get(format!("{}{path}", app.address))).await;
    response.text().await.expect("text")
}

fn store_keys(app: &TestApp) -> SigningKeys {
    SigningKeys::load(&app.store_key_file).expect("load the store's key")
}

/// The `StockAdjusted` event of the change `accepted` in the log that
/// `log` (a request for `/v1/local/events`) reads.
async fn adjusted_event(log: reqwest::RequestBuilder, accepted: &Value) -> Value {
    let log: Value = send(log).await.json().await.expect("json");
    let events = log["events"].as_array().expect("events");
    let adjusted = |event: &&Value| {
        event["payload"]["StockAdjusted"]["operation_id"] == accepted["operation_id"]
    };
    let event = events.iter().find(adjusted);
    let event = event.unwrap_or_else(|| panic!("no event for {accepted} in {log}"));
    event["payload"]["StockAdjusted"].clone()
}

async fn assert_unauthorized(response: reqwest::Response, case: &str) {
    assert_eq!(response.status(), 401, "{case}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "unauthorized", "{case}: {body}");
}

#[tokio::test]
async fn a_local_call_without_a_valid_store_token_is_401_and_changes_nothing() {
    let app = spawn_app().await;
    let before = app.request(Method::GET, &format!("/v1/local/inventory/{LAPTOP}"));
    let before: Value = send(before).await.json().await.expect("json");

    assert_unauthorized(update_with(&app, None).await, "no token").await;
    assert_unauthorized(update_with(&app, Some("not-a-jwt")).await, "garbage").await;
    let expired = signed_by_store(&app, |claims| claims.exp = now() - 600);
    assert_unauthorized(update_with(&app, Some(&expired)).await, "expired").await;
    let other_store = signed_by_store(&app, |claims| claims.iss = "STORE-002".to_owned());
    assert_unauthorized(update_with(&app, Some(&other_store)).await, "other store").await;
    let central = app.key.token(Role::SyncWorker);
    assert_unauthorized(update_with(&app, Some(&central)).await, "central's token").await;
    // Signed by another key under this store's key id.
    let mut forged = signed_by_store(&app, |_| {});
    forged.truncate(forged.rfind('.').expect("signature") + 1);
    forged.push_str("AAAA");
    assert_unauthorized(update_with(&app, Some(&forged)).await, "forged").await;
    let listing = app
        .client
        .get(format!("{}/v1/local/inventory", app.address));
    assert_unauthorized(send(listing).await, "read without token").await;

    let after = app.request(Method::GET, &format!("/v1/local/inventory/{LAPTOP}"));
    let after: Value = send(after).await.json().await.expect("json");
    assert_eq!(before["quantity"], after["quantity"]);
    assert_eq!(before["version"], after["version"]);
}

/// The claims of `token`, decoded without any check.
fn payload_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload);
    serde_json::from_slice(&bytes.expect("base64")).expect("json")
}

/// Central's bad-token cases (`central-app/tests/api/tokens.rs`), against
/// the store's local API: another audience, another issuer, `alg: none`,
/// HS256 signed with the public key, a tampered payload.
#[tokio::test]
async fn central_s_forgeries_are_refused_by_the_local_api_too() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let app = spawn_app().await;
    let keys = store_keys(&app);
    let wrong_audience = signed_by_store(&app, |claims| claims.aud = "another-api".to_owned());
    let wrong_issuer = signed_by_store(&app, |claims| claims.iss = "someone-else".to_owned());
    let claims_json = |role: &str| {
        let mut claims = payload_of(&signed_by_store(&app, |_| {}));
        claims["role"] = json!(role);
        claims
    };
    let header = json!({ "alg": "none", "typ": "JWT", "kid": keys.kid() });
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims_json("pos").to_string())
    );
    let jwks = public_json(&app, "/.well-known/jwks.json").await;
    let public_x = jwks["keys"][0]["x"].as_str().expect("x").to_owned();
    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.kid = Some(keys.kid().to_owned());
    let with_public_key = jsonwebtoken::encode(
        &hs256,
        &claims_json("pos"),
        &EncodingKey::from_secret(public_x.as_bytes()),
    )
    .expect("sign HS256");
    // A viewer's real token with the role changed to manager.
    let viewer = app.local_token_for(VIEWER).await;
    let mut claims = payload_of(&viewer);
    claims["role"] = json!("manager");
    let mut parts: Vec<String> = viewer.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = parts.join(".");

    for (case, token) in [
        ("another audience", wrong_audience),
        ("another issuer", wrong_issuer),
        ("alg none", alg_none),
        ("HS256 with the public key", with_public_key),
        ("tampered payload", tampered),
    ] {
        assert_unauthorized(update_with(&app, Some(&token)).await, case).await;
    }
}

#[tokio::test]
async fn each_local_role_does_only_what_it_may() {
    let app = spawn_app().await;
    let viewer = app.local_token_for(VIEWER).await;
    let pos = app.local_token_for(POS).await;

    let refused = update_with(&app, Some(&viewer)).await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["code"], "forbidden");

    let read = app
        .client
        .get(format!("{}/v1/local/inventory/{LAPTOP}", app.address));
    assert_eq!(send(read.bearer_auth(&viewer)).await.status(), 200);

    let accepted = update_with(&app, Some(&pos)).await;
    assert_eq!(accepted.status(), 201);

    let events = app.client.get(format!("{}/v1/local/events", app.address));
    assert_eq!(
        send(events.bearer_auth(&pos)).await.status(),
        403,
        "pos reads no log"
    );
    let trigger = app
        .client
        .post(format!("{}/v1/local/sync/trigger", app.address));
    assert_eq!(
        send(trigger.bearer_auth(&pos)).await.status(),
        403,
        "pos triggers no sync"
    );
}

#[tokio::test]
async fn the_store_publishes_the_keys_its_tokens_verify_with() {
    let app = spawn_app().await;
    let jwks = public_json(&app, "/.well-known/jwks.json").await;
    let keys = store_keys(&app);
    assert_eq!(jwks["keys"][0]["kid"], keys.kid());
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
}

#[tokio::test]
async fn repeated_wrong_secrets_are_refused_with_429_and_retry_after() {
    let app = spawn_app().await;
    let mut refusals = Vec::new();
    for _ in 0..5 {
        refusals.push(app.token_response(POS, "wrong-secret-00000").await.status());
    }
    assert_eq!(refusals, [401; 5]);
    let limited = app.token_response(POS, CLIENT_SECRET).await;
    assert_eq!(limited.status(), 429);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "retry after {wait}");
    let body: Value = limited.json().await.expect("json");
    assert_eq!(body["error"], "rate_limited");
    let metrics = public_text(&app, "/metrics").await;
    assert!(
        metrics.contains(r#"store_token_failures_total{reason="rate_limited"} 1"#),
        "{metrics}"
    );
    // Another client is not held back by this one's failures.
    assert_eq!(
        app.token_response(VIEWER, CLIENT_SECRET).await.status(),
        200
    );
}

#[tokio::test]
async fn a_change_records_the_client_of_its_token_in_the_event_log() {
    let app = spawn_app().await;
    let pos = app.local_token_for(POS).await;
    let accepted: Value = update_with(&app, Some(&pos))
        .await
        .json()
        .await
        .expect("json");

    let log = app.request(Method::GET, &format!("/v1/local/events?sku={LAPTOP}"));
    let event = adjusted_event(log, &accepted).await;
    assert_eq!(event["client"], POS);
}

#[tokio::test]
async fn with_local_auth_off_no_token_is_needed_and_readiness_says_so() {
    let app = spawn_app_without_local_auth().await;
    let accepted = update_with(&app, None).await;
    assert_eq!(accepted.status(), 201);
    let accepted: Value = accepted.json().await.expect("json");

    let ready = public_json(&app, "/health/ready").await;
    assert_eq!(ready["checks"]["local_auth"]["ok"], false, "{ready}");
    assert_eq!(ready["status"], "ready", "{ready}");

    let log = app
        .client
        .get(format!("{}/v1/local/events?sku={LAPTOP}", app.address));
    let event = adjusted_event(log, &accepted).await;
    assert!(event.get("client").is_none(), "{event}");
}

#[tokio::test]
async fn a_disabled_client_gets_no_new_token() {
    let app = spawn_app().await;
    let clients = Clients::new(app.db.pool.clone(), &Role::LOCAL).expect("clients");
    assert!(clients.disable(POS).await.expect("disable"));

    let refused = app.token_response(POS, CLIENT_SECRET).await;
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");
}
