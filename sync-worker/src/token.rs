//! Access tokens from central's OAuth2 client-credentials endpoint, cached
//! and reused until shortly before they expire, so a worker running for
//! days never breaks on expiry and asks for a token only when it needs one.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use prometheus::IntCounter;
use reqwest::{Client, StatusCode, Url};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::Secret;

/// Longest margin before expiry at which a cached token is replaced.
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// Lifetime assumed when central's answer has no `expires_in`.
const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// A bearer token; `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    /// The token text for the `Authorization` header.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

/// How long before expiry a token of lifetime `ttl` is replaced: 10% of the
/// lifetime, at most 30 s, so short-lived tokens are still used for most of
/// their life.
pub fn refresh_margin(ttl: Duration) -> Duration {
    (ttl / 10).min(MAX_REFRESH_MARGIN)
}

/// A token and the moment it stops being handed out.
#[derive(Debug, Clone)]
pub struct CachedToken {
    token: AccessToken,
    refresh_at: Instant,
}

impl CachedToken {
    /// A token received at `received_at`, valid for `ttl` from then.
    pub fn new(token: AccessToken, received_at: Instant, ttl: Duration) -> Self {
        Self {
            token,
            refresh_at: received_at + ttl.saturating_sub(refresh_margin(ttl)),
        }
    }

    /// Whether the token may still be used at `now`.
    pub fn is_fresh(&self, now: Instant) -> bool {
        now < self.refresh_at
    }
}

/// Why no token could be obtained.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("central's token endpoint is unreachable: {0}")]
    Unreachable(#[source] reqwest::Error),
    #[error("central refused the client credentials ({status}): {body}")]
    Refused { status: StatusCode, body: String },
    #[error("central's token answer is unreadable: {0}")]
    Malformed(#[source] reqwest::Error),
}

impl TokenError {
    /// Whether trying again later may succeed without a configuration change.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::Malformed(_) => true,
            Self::Refused { status, .. } => status.is_server_error(),
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

/// Hands out the current access token, fetching a new one when the cached
/// one is close to expiry or was refused. Cheap to clone.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    http: Client,
    token_url: Url,
    client_id: String,
    client_secret: Secret,
    cached: Mutex<Option<CachedToken>>,
    fetches: IntCounter,
}

impl TokenSource {
    /// Tokens from central's `token_url` (`.../auth/token`) for this
    /// client; every fetch increments `fetches`.
    pub fn new(
        http: Client,
        token_url: Url,
        client_id: String,
        client_secret: Secret,
        fetches: IntCounter,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                token_url,
                client_id,
                client_secret,
                cached: Mutex::new(None),
                fetches,
            }),
        }
    }

    /// A token valid for a while yet. Concurrent callers wait for a single
    /// fetch instead of each asking central.
    pub async fn get(&self) -> Result<AccessToken, TokenError> {
        let mut cached = self.inner.cached.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.is_fresh(Instant::now())) {
            return Ok(token.token.clone());
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets `refused` (a request with it got 401), unless another caller
    /// already replaced it.
    pub async fn invalidate(&self, refused: &AccessToken) {
        let mut cached = self.inner.cached.lock().await;
        if cached.as_ref().is_some_and(|t| &t.token == refused) {
            *cached = None;
        }
    }

    #[tracing::instrument(name = "fetch_token", skip_all, fields(client_id = %self.inner.client_id))]
    async fn fetch(&self) -> Result<CachedToken, TokenError> {
        let inner = &self.inner;
        inner.fetches.inc();
        let sent_at = Instant::now();
        let response = inner
            .http
            .post(inner.token_url.clone())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", inner.client_id.as_str()),
                ("client_secret", inner.client_secret.expose()),
            ])
            .send()
            .await
            .map_err(TokenError::Unreachable)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            tracing::warn!(%status, "token request refused");
            return Err(TokenError::Refused {
                status,
                body: body.chars().take(300).collect(),
            });
        }
        let body: TokenResponse = response.json().await.map_err(TokenError::Malformed)?;
        let ttl = body.expires_in.map_or(DEFAULT_TTL, Duration::from_secs);
        tracing::info!(expires_in_s = ttl.as_secs(), "access token obtained");
        Ok(CachedToken::new(
            AccessToken(body.access_token.into()),
            sent_at,
            ttl,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> AccessToken {
        AccessToken(text.into())
    }

    /// Asserts that a token living `ttl` is still fresh `fresh_until` after
    /// it was sent, and no longer `stale_from` after.
    fn assert_replaced_at(ttl: Duration, fresh_until: Duration, stale_from: Duration) {
        let t0 = Instant::now();
        let cached = CachedToken::new(token("a"), t0, ttl);
        assert!(cached.is_fresh(t0 + fresh_until));
        assert!(!cached.is_fresh(t0 + stale_from));
    }

    #[test]
    fn a_long_lived_token_is_replaced_30_s_before_expiry() {
        let secs = Duration::from_secs;
        assert_replaced_at(secs(900), secs(869), secs(870));
    }

    #[test]
    fn a_short_lived_token_is_replaced_at_90_percent_of_its_life() {
        let ms = Duration::from_millis;
        assert_replaced_at(ms(5000), ms(4499), ms(4500));
    }

    #[test]
    fn a_token_without_lifetime_is_never_fresh() {
        let t0 = Instant::now();
        assert!(!CachedToken::new(token("a"), t0, Duration::ZERO).is_fresh(t0));
    }

    #[test]
    fn refresh_margin_is_a_tenth_of_the_lifetime_capped_at_30_s() {
        assert_eq!(
            refresh_margin(Duration::from_secs(10)),
            Duration::from_secs(1)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(300)),
            Duration::from_secs(30)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn tokens_do_not_print() {
        assert_eq!(format!("{:?}", token("eyJsecret")), "AccessToken(***)");
    }
}
