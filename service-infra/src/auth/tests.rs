//! Token verification tests with keys generated on the spot; the remote key
//! set is served by a local axum server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey, KeypairBytes};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

use super::*;

/// base64url of `{"alg":"none","typ":"JWT","kid":"test-key"}`.
const ALG_NONE_HEADER: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIiwia2lkIjoidGVzdC1rZXkifQ";

struct TestKey {
    kid: &'static str,
    encoding: EncodingKey,
    jwk: Jwk,
    signing: SigningKey,
}

impl TestKey {
    fn generate(kid: &'static str) -> Self {
        let signing = SigningKey::from_bytes(&rand::random());
        // Without the public key: jsonwebtoken derives JWKs only from v1 PKCS#8.
        let pkcs8 = KeypairBytes {
            secret_key: signing.to_bytes(),
            public_key: None,
        };
        let pem = pkcs8.to_pkcs8_pem(LineEnding::LF).expect("encode PKCS#8");
        let encoding = EncodingKey::from_ed_pem(pem.as_bytes()).expect("load signing key");
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA).expect("derive JWK");
        jwk.common.key_id = Some(kid.to_owned());
        Self {
            kid,
            encoding,
            jwk,
            signing,
        }
    }

    fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.to_owned());
        encode(&header, claims, &self.encoding).expect("sign token")
    }
}

fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    i64::try_from(secs).expect("timestamp fits i64")
}

fn claims(role: Role, store_id: Option<&str>) -> Claims {
    Claims {
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: "client-1".to_owned(),
        role,
        store_id: store_id.map(str::to_owned),
        iat: now(),
        exp: now() + 300,
        jti: "token-1".to_owned(),
    }
}

fn verifier_for(key: &TestKey) -> TokenVerifier {
    TokenVerifier::from_jwks(JwkSet {
        keys: vec![key.jwk.clone()],
    })
}

async fn rejection(verifier: &TokenVerifier, token: &str) -> &'static str {
    match verifier.verify(token).await {
        Err(TokenError::Invalid(reason)) => reason,
        other => panic!("expected an invalid-token error, got {other:?}"),
    }
}

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
    let token = key.sign(&Claims {
        exp: now() - 2,
        ..claims(Role::SyncWorker, None)
    });
    assert!(verifier_for(&key).verify(&token).await.is_ok());
}

#[tokio::test]
async fn expired_token_is_rejected() {
    let key = TestKey::generate("test-key");
    let token = key.sign(&Claims {
        exp: now() - 60,
        ..claims(Role::SyncWorker, None)
    });
    assert_eq!(
        rejection(&verifier_for(&key), &token).await,
        "token has expired"
    );
}

#[tokio::test]
async fn token_for_another_audience_is_rejected() {
    let key = TestKey::generate("test-key");
    let token = key.sign(&Claims {
        aud: "someone-else".into(),
        ..claims(Role::SyncWorker, None)
    });
    assert_eq!(
        rejection(&verifier_for(&key), &token).await,
        "wrong audience"
    );
}

#[tokio::test]
async fn token_from_another_issuer_is_rejected() {
    let key = TestKey::generate("test-key");
    let token = key.sign(&Claims {
        iss: "impostor".into(),
        ..claims(Role::SyncWorker, None)
    });
    assert_eq!(rejection(&verifier_for(&key), &token).await, "wrong issuer");
}

#[tokio::test]
async fn unsigned_alg_none_token_is_rejected() {
    let key = TestKey::generate("test-key");
    let signed = key.sign(&claims(Role::Admin, None));
    let payload = signed.split('.').nth(1).expect("payload part");
    let token = format!("{ALG_NONE_HEADER}.{payload}.");
    assert_eq!(
        rejection(&verifier_for(&key), &token).await,
        "malformed token"
    );
}

#[tokio::test]
async fn hs256_token_keyed_with_the_public_key_is_rejected() {
    let key = TestKey::generate("test-key");
    let secret = EncodingKey::from_secret(key.signing.verifying_key().as_bytes());
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.to_owned());
    let token = encode(&header, &claims(Role::Admin, None), &secret).expect("sign HS256");
    assert_eq!(
        rejection(&verifier_for(&key), &token).await,
        "unsupported signing algorithm"
    );
}

#[tokio::test]
async fn token_with_tampered_payload_is_rejected() {
    let key = TestKey::generate("test-key");
    let genuine = key.sign(&claims(Role::Store, Some("store-7")));
    let elevated = key.sign(&claims(Role::Admin, None));
    let parts: Vec<&str> = genuine.split('.').collect();
    let admin_payload = elevated.split('.').nth(1).expect("payload part");
    let token = format!("{}.{admin_payload}.{}", parts[0], parts[2]);
    assert_eq!(
        rejection(&verifier_for(&key), &token).await,
        "bad signature"
    );
}

#[tokio::test]
async fn token_naming_an_unknown_key_is_rejected() {
    let known = TestKey::generate("test-key");
    let other = TestKey::generate("other-key");
    let token = other.sign(&claims(Role::SyncWorker, None));
    assert_eq!(
        rejection(&verifier_for(&known), &token).await,
        "unknown key id"
    );
}

#[tokio::test]
async fn token_signed_by_another_key_under_a_known_kid_is_rejected() {
    let known = TestKey::generate("test-key");
    let forger = TestKey::generate("test-key");
    let token = forger.sign(&claims(Role::SyncWorker, None));
    assert_eq!(
        rejection(&verifier_for(&known), &token).await,
        "bad signature"
    );
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

#[test]
fn store_token_may_access_only_its_own_store() {
    let store = claims(Role::Store, Some("store-7"));
    assert!(store.may_access_store("store-7"));
    assert!(!store.may_access_store("store-8"));
    assert!(!claims(Role::Store, None).may_access_store("store-7"));
    assert!(claims(Role::SyncWorker, None).may_access_store("store-8"));
    assert!(claims(Role::Admin, None).may_access_store("store-8"));
}

#[test]
fn require_role_forbids_other_roles() {
    let store = claims(Role::Store, Some("store-7"));
    assert!(store.require_role(&[Role::Store, Role::Admin]).is_ok());
    let err = store
        .require_role(&[Role::Admin])
        .expect_err("store is not admin");
    assert_eq!((err.status, err.code), (StatusCode::FORBIDDEN, "forbidden"));
}

#[test]
fn roles_use_kebab_case_names_everywhere() {
    for (role, name) in [
        (Role::SyncWorker, "sync-worker"),
        (Role::Store, "store"),
        (Role::Admin, "admin"),
    ] {
        assert_eq!(role.to_string(), name);
        assert_eq!(name.parse::<Role>().ok(), Some(role));
        assert_eq!(
            serde_json::to_value(role).ok(),
            Some(serde_json::json!(name))
        );
    }
    assert!("SyncWorker".parse::<Role>().is_err());
}

#[test]
fn jwk_for_public_key_matches_the_signing_key() {
    let key = TestKey::generate("test-key");
    let pem = key
        .signing
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("encode SPKI");

    let jwk = jwk_for_public_key(&pem, "test-key").expect("derive JWK");

    assert_eq!(jwk.algorithm, key.jwk.algorithm);
    assert_eq!(jwk.common.key_id.as_deref(), Some("test-key"));
}

/// Serves a swappable key set on a local port and counts the fetches.
struct JwksServer {
    url: String,
    keys: Arc<Mutex<JwkSet>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(keys: JwkSet) -> Self {
        let keys = Arc::new(Mutex::new(keys));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (served, counter) = (keys.clone(), fetches.clone());
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || async move {
                counter.fetch_add(1, Ordering::SeqCst);
                axum::Json(served.lock().expect("keys lock").clone())
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "http://{}/jwks.json",
            listener.local_addr().expect("local addr")
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, keys, fetches }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn remote_verifier_fetches_lazily_and_again_for_a_new_key() {
    let (old, new) = (TestKey::generate("old"), TestKey::generate("new"));
    let server = JwksServer::start(JwkSet {
        keys: vec![old.jwk.clone()],
    })
    .await;
    let verifier = TokenVerifier::remote_with_refetch_interval(
        server.url.clone(),
        reqwest::Client::new(),
        Duration::ZERO,
    );
    assert_eq!(server.fetches(), 0);

    verifier
        .verify(&old.sign(&claims(Role::SyncWorker, None)))
        .await
        .expect("old key");
    verifier
        .verify(&old.sign(&claims(Role::SyncWorker, None)))
        .await
        .expect("cached");
    assert_eq!(server.fetches(), 1);

    *server.keys.lock().expect("keys lock") = JwkSet {
        keys: vec![new.jwk.clone()],
    };
    verifier
        .verify(&new.sign(&claims(Role::SyncWorker, None)))
        .await
        .expect("rotated key");
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn remote_verifier_refetches_at_most_once_per_interval() {
    let key = TestKey::generate("test-key");
    let server = JwksServer::start(JwkSet {
        keys: vec![key.jwk.clone()],
    })
    .await;
    let verifier = TokenVerifier::remote(server.url.clone(), reqwest::Client::new());
    verifier
        .verify(&key.sign(&claims(Role::SyncWorker, None)))
        .await
        .expect("known key");

    for kid in ["unknown-1", "unknown-2"] {
        let stranger = TestKey::generate(kid);
        let token = stranger.sign(&claims(Role::SyncWorker, None));
        assert_eq!(rejection(&verifier, &token).await, "unknown key id");
    }
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn unreachable_key_set_means_auth_unavailable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/jwks.json",
        listener.local_addr().expect("local addr")
    );
    drop(listener);
    let key = TestKey::generate("test-key");
    let verifier = TokenVerifier::remote(url, reqwest::Client::new());

    let err = verifier
        .verify(&key.sign(&claims(Role::SyncWorker, None)))
        .await
        .expect_err("no keys");
    assert!(
        matches!(err, TokenError::KeysUnavailable { .. }),
        "got {err:?}"
    );

    let api = ApiError::from(err).into_response();
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(api.headers().contains_key(header::RETRY_AFTER));
}
