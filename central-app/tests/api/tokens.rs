//! The token endpoint and token checks: every forged, stale or misdirected
//! token is refused with 401, a valid one outside its role or store with 403.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use service_infra::auth::issuing::clients::Clients;
use service_infra::auth::{AUDIENCE, Claims, ISSUER, Role};

use crate::helpers::{
    CAMERA, Credentials, STORE_1, STORE_2, TestApp, TestClient, assert_refused, json_body,
    spawn_app,
};

fn item_path(store: &str) -> String {
    format!("/v1/stores/{store}/inventory/{CAMERA}")
}

/// Asserts that reading STORE-001's camera with `token` is refused with 401.
async fn assert_unauthorized(app: &TestApp, token: &str) {
    let (status, body) = json_body(app.get(Some(token), &item_path(STORE_1)).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

fn claims(role: Role) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: "forger".to_owned(),
        role,
        store_id: None,
        iat: now,
        exp: now + 300,
        jti: "forged".to_owned(),
    }
}

fn sign(app: &TestApp, claims: &Claims) -> String {
    let keys = app.keys();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(keys.kid().to_owned());
    encode(&header, claims, keys.encoding_key()).expect("sign")
}

#[tokio::test]
async fn form_basic_and_json_credentials_all_get_a_token() {
    let app = spawn_app().await;
    let client = TestClient::Worker;
    for how in [Credentials::Form, Credentials::Basic, Credentials::Json] {
        let response = app.request_token(how, client.id(), client.secret()).await;
        let (status, body) = json_body(response).await;
        assert_eq!(status, StatusCode::OK, "{how:?}: {body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 900);
    }
    app.cleanup().await;
}

#[tokio::test]
async fn issued_tokens_carry_the_documented_claims_and_key_id() {
    let app = spawn_app().await;
    let token = app.token(TestClient::Store1).await;
    let (_, jwks) = json_body(app.get(None, "/.well-known/jwks.json").await).await;
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwks["keys"][0].clone()).expect("jwk");

    let header = decode_header(&token).expect("header");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[ISSUER]);
    let data = decode::<Claims>(
        &token,
        &DecodingKey::from_jwk(&jwk).expect("key"),
        &validation,
    )
    .expect("valid token");

    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid, jwk.common.key_id);
    assert_eq!(data.claims.sub, TestClient::Store1.id());
    assert_eq!(data.claims.role, Role::Store);
    assert_eq!(data.claims.store_id.as_deref(), Some(STORE_1));
    assert_eq!(data.claims.exp - data.claims.iat, 900);
    assert!(!data.claims.jti.is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn wrong_or_unknown_credentials_are_invalid_client() {
    let app = spawn_app().await;
    for (id, secret) in [
        (TestClient::Worker.id(), "wrong-secret"),
        ("nobody", "whatever"),
    ] {
        let response = app.request_token(Credentials::Form, id, secret).await;
        let (status, body) = json_body(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "invalid_client");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn requests_without_a_token_are_unauthorized() {
    let app = spawn_app().await;
    let (status, body) = json_body(app.get(None, &item_path(STORE_1)).await).await;
    assert_refused(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    app.cleanup().await;
}

#[tokio::test]
async fn expired_tokens_are_unauthorized() {
    let app = spawn_app().await;
    let mut expired = claims(Role::Admin);
    expired.exp = expired.iat - 3600;
    assert_unauthorized(&app, &sign(&app, &expired)).await;
    app.cleanup().await;
}

#[tokio::test]
async fn tokens_for_another_audience_or_issuer_are_unauthorized() {
    let app = spawn_app().await;
    let wrong_aud = Claims {
        aud: "another-api".into(),
        ..claims(Role::Admin)
    };
    let wrong_iss = Claims {
        iss: "someone-else".into(),
        ..claims(Role::Admin)
    };
    for forged in [wrong_aud, wrong_iss] {
        assert_unauthorized(&app, &sign(&app, &forged)).await;
    }
    app.cleanup().await;
}

#[tokio::test]
async fn unsigned_alg_none_tokens_are_unauthorized() {
    let app = spawn_app().await;
    let header = json!({ "alg": "none", "typ": "JWT", "kid": app.keys().kid() });
    let token = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(serde_json::to_string(&claims(Role::Admin)).expect("claims"))
    );
    assert_unauthorized(&app, &token).await;
    app.cleanup().await;
}

#[tokio::test]
async fn hs256_tokens_signed_with_the_public_key_are_unauthorized() {
    let app = spawn_app().await;
    let (_, jwks) = json_body(app.get(None, "/.well-known/jwks.json").await).await;
    let public_x = jwks["keys"][0]["x"].as_str().expect("x").to_owned();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(app.keys().kid().to_owned());
    for secret in [public_x.into_bytes(), jwks.to_string().into_bytes()] {
        let token = encode(
            &header,
            &claims(Role::Admin),
            &EncodingKey::from_secret(&secret),
        )
        .expect("sign HS256");
        assert_unauthorized(&app, &token).await;
    }
    app.cleanup().await;
}

#[tokio::test]
async fn tokens_with_a_tampered_payload_are_unauthorized() {
    let app = spawn_app().await;
    let token = app.token(TestClient::Store1).await;
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("payload")).expect("json");
    payload["store_id"] = json!(STORE_2);
    payload["role"] = json!("admin");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );

    let (status, _) = json_body(app.get(Some(&forged), &item_path(STORE_2)).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.cleanup().await;
}

#[tokio::test]
async fn a_store_token_cannot_touch_another_store() {
    let app = spawn_app().await;
    let store = TestClient::Store1;
    let other_store_batch = json!({ "store_id": STORE_2, "changes": [] });

    let (read, _) = app.get_as(store, &item_path(STORE_2)).await;
    let (push, _) = app
        .post_as(store, "/v1/sync/batch", &other_store_batch)
        .await;
    let (events, _) = app.get_as(store, "/v1/events?store_id=STORE-002").await;
    let (all_events, _) = app.get_as(store, "/v1/events").await;

    assert_eq!(read, StatusCode::FORBIDDEN);
    assert_eq!(push, StatusCode::FORBIDDEN);
    assert_eq!(events, StatusCode::FORBIDDEN);
    assert_eq!(all_events, StatusCode::FORBIDDEN);
    app.cleanup().await;
}

#[tokio::test]
async fn only_admins_may_adjust_at_head_office() {
    let app = spawn_app().await;
    let path = format!("/v1/stores/{STORE_1}/inventory/{CAMERA}/adjust");
    for client in [TestClient::Worker, TestClient::Store1] {
        let (status, body) = app.post_as(client, &path, &json!({ "delta": 1 })).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{client:?}: {body}");
        assert_eq!(body["code"], "forbidden");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn malformed_basic_credentials_are_a_bad_request() {
    let app = spawn_app().await;
    let no_colon = format!("Basic {}", STANDARD.encode("no-colon"));
    let response = app
        .request(Method::POST, "/auth/token")
        .header("authorization", no_colon)
        .send()
        .await
        .expect("token request");
    let (status, body) = json_body(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    app.cleanup().await;
}

#[tokio::test]
async fn guessing_a_client_s_secret_is_stopped_with_429() {
    let app = spawn_app().await;
    let client = TestClient::Admin;
    for attempt in 1..=5 {
        let response = app
            .request_token(Credentials::Form, client.id(), "wrong-secret")
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    // The right secret now waits too: the limit holds before the check.
    let limited = app
        .request_token(Credentials::Form, client.id(), client.secret())
        .await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
    let (_, body) = json_body(limited).await;
    assert_eq!(body["error"], "rate_limited");
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"central_token_failures_total{reason="rate_limited"} 1"#),
        "{metrics}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_disabled_client_gets_no_new_token() {
    let app = spawn_app().await;
    let client = TestClient::Worker;
    let clients = Clients::new(app.pool.clone(), &Role::CENTRAL).expect("clients");
    assert!(clients.disable(client.id()).await.expect("disable"));

    let response = app
        .request_token(Credentials::Form, client.id(), client.secret())
        .await;
    let (status, body) = json_body(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    app.cleanup().await;
}
