//! The remote key set: fetched lazily, refetched for new keys, throttled, and
//! reported as unavailable when it cannot be reached. Served by a local axum
//! server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use jsonwebtoken::jwk::JwkSet;

use super::*;

/// A listener on a free local port, and the key set's URL on it.
async fn jwks_listener() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/jwks.json",
        listener.local_addr().expect("local addr")
    );
    (listener, url)
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
        let (listener, url) = jwks_listener().await;
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
        .verify(&old.sign(&worker_claims()))
        .await
        .expect("old key");
    verifier
        .verify(&old.sign(&worker_claims()))
        .await
        .expect("cached");
    assert_eq!(server.fetches(), 1);

    *server.keys.lock().expect("keys lock") = JwkSet {
        keys: vec![new.jwk.clone()],
    };
    verifier
        .verify(&new.sign(&worker_claims()))
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
        .verify(&key.sign(&worker_claims()))
        .await
        .expect("known key");

    for kid in ["unknown-1", "unknown-2"] {
        let stranger = TestKey::generate(kid);
        let token = stranger.sign(&worker_claims());
        assert_eq!(rejection(&verifier, &token).await, "unknown key id");
    }
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn unreachable_key_set_means_auth_unavailable() {
    let (listener, url) = jwks_listener().await;
    drop(listener);
    let key = TestKey::generate("test-key");
    let verifier = TokenVerifier::remote(url, reqwest::Client::new());

    let err = verifier
        .verify(&key.sign(&worker_claims()))
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
