//! What `TokenVerifier::verify` accepts and rejects, and the `Bearer` extractor.

use axum::extract::FromRequestParts;
use axum::http::{Request, StatusCode, header};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

use super::*;

#[tokio::test]
async fn valid_token_is_accepted() {
    let key = TestKey::generate("test-key");
    let token = key.sign(&claims(Role::Store, Some("store-7")));

    let verified = verifier_for(&key)
        .verify(&token)
        .await
        .expect("valid token");

    assert_eq!(verified.role, Role::Store);
    assert_eq!(verified.store_id.as_deref(), Some("store-7"));
}

#[tokio::test]
async fn token_expired_within_leeway_is_accepted() {
    let key = TestKey::generate("test-key");
    let token = key.sign(&worker_claims_with(|c| c.exp = now() - 2));
    assert!(verifier_for(&key).verify(&token).await.is_ok());
}

#[tokio::test]
async fn expired_token_is_rejected() {
    let key = TestKey::generate("test-key");
    let token = key.sign(&worker_claims_with(|c| c.exp = now() - 60));
    assert_eq!(rejection_by(&key, &token).await, "token has expired");
}

#[tokio::test]
async fn token_for_another_audience_is_rejected() {
    let key = TestKey::generate("test-key");
    let token = key.sign(&worker_claims_with(|c| c.aud = "someone-else".into()));
    assert_eq!(rejection_by(&key, &token).await, "wrong audience");
}

#[tokio::test]
async fn token_from_another_issuer_is_rejected() {
    let key = TestKey::generate("test-key");
    let token = key.sign(&worker_claims_with(|c| c.iss = "impostor".into()));
    assert_eq!(rejection_by(&key, &token).await, "wrong issuer");
}

#[tokio::test]
async fn unsigned_alg_none_token_is_rejected() {
    let key = TestKey::generate("test-key");
    let signed = key.sign(&claims(Role::Admin, None));
    let payload = signed.split('.').nth(1).expect("payload part");
    let token = format!("{ALG_NONE_HEADER}.{payload}.");
    assert_eq!(rejection_by(&key, &token).await, "malformed token");
}

#[tokio::test]
async fn hs256_token_keyed_with_the_public_key_is_rejected() {
    let key = TestKey::generate("test-key");
    let secret = EncodingKey::from_secret(key.signing.verifying_key().as_bytes());
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.to_owned());
    let token = encode(&header, &claims(Role::Admin, None), &secret).expect("sign HS256");
    let reason = rejection_by(&key, &token).await;
    assert_eq!(reason, "unsupported signing algorithm");
}

#[tokio::test]
async fn token_with_tampered_payload_is_rejected() {
    let key = TestKey::generate("test-key");
    let genuine = key.sign(&claims(Role::Store, Some("store-7")));
    let elevated = key.sign(&claims(Role::Admin, None));
    let parts: Vec<&str> = genuine.split('.').collect();
    let admin_payload = elevated.split('.').nth(1).expect("payload part");
    let token = format!("{}.{admin_payload}.{}", parts[0], parts[2]);
    assert_eq!(rejection_by(&key, &token).await, "bad signature");
}

/// Why a verifier that trusts one key, `test-key`, rejects a token signed
/// by a freshly generated key that calls itself `kid`.
async fn rejection_of_a_stranger_key_named(kid: &'static str) -> &'static str {
    let known = TestKey::generate("test-key");
    let stranger = TestKey::generate(kid);
    rejection_by(&known, &stranger.sign(&worker_claims())).await
}

#[tokio::test]
async fn token_naming_an_unknown_key_is_rejected() {
    let reason = rejection_of_a_stranger_key_named("other-key").await;
    assert_eq!(reason, "unknown key id");
}

#[tokio::test]
async fn token_signed_by_another_key_under_a_known_kid_is_rejected() {
    let reason = rejection_of_a_stranger_key_named("test-key").await;
    assert_eq!(reason, "bad signature");
}

#[tokio::test]
async fn bearer_extractor_requires_a_valid_token() {
    let key = TestKey::generate("test-key");
    let verifier = verifier_for(&key);
    let extract = |auth: Option<String>| {
        let mut request = Request::builder();
        if let Some(auth) = auth {
            request = request.header(header::AUTHORIZATION, auth);
        }
        let (mut parts, ()) = request.body(()).expect("request").into_parts();
        let verifier = verifier.clone();
        async move { Bearer::from_request_parts(&mut parts, &verifier).await }
    };

    let missing = extract(None).await.expect_err("no header");
    let garbage = extract(Some("Bearer not-a-token".into()))
        .await
        .expect_err("bad token");
    let Bearer(claims) = extract(Some(format!(
        "bearer {}",
        key.sign(&claims(Role::Admin, None))
    )))
    .await
    .expect("valid token");

    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    assert_eq!(claims.role, Role::Admin);
}
