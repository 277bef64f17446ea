//! [`TokenVerifier`]: checks an access token's signature and claims against
//! an issuer's public keys, given up front (an app's own) or fetched from a
//! JWKS endpoint (central's, at the stores).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::keys::usable_keys;
use super::verified::VerifiedTokens;
use super::{Claims, TokenScope};
use crate::error::ApiError;

/// Least time between two fetches of a remote key set.
const REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// Longest wait for the key set endpoint to answer.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Clock skew tolerated on `exp`, in seconds.
const LEEWAY_SECS: u64 = 5;

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token is malformed, badly signed, expired or not meant for us (401).
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    /// The keys needed to check the token could not be fetched (503).
    #[error("cannot fetch token signing keys from {url}: {reason}")]
    KeysUnavailable {
        /// The key set endpoint.
        url: String,
        /// What went wrong, with its cause chain.
        reason: String,
    },
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Invalid(reason) => {
                ApiError::unauthorized(format!("invalid bearer token: {reason}"))
            }
            TokenError::KeysUnavailable { .. } => {
                tracing::warn!(error = %err, "cannot verify bearer token");
                ApiError::unavailable(
                    "auth_unavailable",
                    "token signing keys are unavailable; try again shortly",
                    REFETCH_INTERVAL.as_secs(),
                )
            }
        }
    }
}

/// Verifies access tokens. Cheap to clone: clones share the key cache.
#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.inner.keys.read().map_or(0, |keys| keys.len());
        f.debug_struct("TokenVerifier")
            .field(
                "jwks_url",
                &self.inner.remote.as_ref().map(|remote| &remote.url),
            )
            .field("cached_keys", &keys)
            .finish()
    }
}

struct Inner {
    keys: RwLock<HashMap<String, DecodingKey>>,
    remote: Option<Remote>,
    validation: Validation,
    verified: VerifiedTokens,
}

struct Remote {
    url: String,
    http: reqwest::Client,
    min_refetch: Duration,
    /// Serialises fetches and remembers the last attempt.
    last_fetch: Mutex<Option<FetchAttempt>>,
}

struct FetchAttempt {
    at: Instant,
    error: Option<String>,
}

impl TokenVerifier {
    /// A verifier of tokens for `scope` with a fixed key set, such as an
    /// app's own public keys.
    ///
    /// Keys without a `kid`, or that are not Ed25519 signing keys, are skipped
    /// with a warning.
    pub fn from_jwks(jwks: JwkSet, scope: TokenScope) -> Self {
        Self::build(usable_keys(&jwks), None, &scope)
    }

    /// A verifier of central's tokens that fetches the key set from
    /// `jwks_url` on first use, and again (at most once per 10 s) when a
    /// token names an unknown key id.
    pub fn remote(jwks_url: String, http: reqwest::Client) -> Self {
        Self::remote_with_refetch_interval(jwks_url, http, REFETCH_INTERVAL)
    }

    pub(crate) fn remote_with_refetch_interval(
        url: String,
        http: reqwest::Client,
        min_refetch: Duration,
    ) -> Self {
        let remote = Remote {
            url,
            http,
            min_refetch,
            last_fetch: Mutex::new(None),
        };
        Self::build(HashMap::new(), Some(remote), &TokenScope::central())
    }

    fn build(
        keys: HashMap<String, DecodingKey>,
        remote: Option<Remote>,
        scope: &TokenScope,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[&scope.issuer]);
        validation.set_audience(&[&scope.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Self {
            inner: Arc::new(Inner {
                keys: RwLock::new(keys),
                remote,
                validation,
                verified: VerifiedTokens::default(),
            }),
        }
    }

    /// Checks `token` (without the `Bearer ` prefix) and returns its claims.
    ///
    /// The header must say `EdDSA` and name a known `kid`; the signature,
    /// `iss`, `aud` and `exp` (with 5 s leeway) must check out. A token
    /// that did before is only checked for expiry ([`VerifiedTokens`]).
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        if let Some(claims) = self.inner.verified.get(token, now, LEEWAY_SECS as i64) {
            return Ok(claims);
        }
        let generation = self.inner.verified.generation();
        let claims = self.verify_in_full(token).await?;
        self.inner.verified.insert(token, &claims, generation);
        Ok(claims)
    }

    async fn verify_in_full(&self, token: &str) -> Result<Claims, TokenError> {
        // `none` is not an algorithm jsonwebtoken knows, so it fails here.
        let header = decode_header(token).map_err(|_| TokenError::Invalid("malformed token"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Invalid("unsupported signing algorithm"));
        }
        let kid = header
            .kid
            .ok_or(TokenError::Invalid("token names no key id"))?;
        let key = self.key(&kid).await?;
        let data = decode::<Claims>(token, &key, &self.inner.validation).map_err(invalid)?;
        Ok(data.claims)
    }

    fn cached(&self, kid: &str) -> Option<DecodingKey> {
        let keys = self
            .inner
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        keys.get(kid).cloned()
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        const UNKNOWN: TokenError = TokenError::Invalid("unknown key id");
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let Some(remote) = &self.inner.remote else {
            return Err(UNKNOWN);
        };
        let mut last = remote.last_fetch.lock().await;
        // Another request may have refreshed the keys while this one waited.
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        if let Some(attempt) = last.as_ref()
            && attempt.at.elapsed() < remote.min_refetch
        {
            return Err(match &attempt.error {
                None => UNKNOWN,
                Some(reason) => remote.unavailable(reason.clone()),
            });
        }
        let fetched = remote.fetch().await;
        *last = Some(FetchAttempt {
            at: Instant::now(),
            error: fetched.as_ref().err().cloned(),
        });
        let keys = fetched.map_err(|reason| remote.unavailable(reason))?;
        // Replace, not merge: keys central has retired stop being accepted,
        // and so do the tokens they signed.
        *self
            .inner
            .keys
            .write()
            .unwrap_or_else(PoisonError::into_inner) = keys;
        self.inner.verified.clear();
        self.cached(kid).ok_or(UNKNOWN)
    }
}

impl Remote {
    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let chain = |err: reqwest::Error| format!("{:#}", anyhow::Error::from(err));
        let response = self
            .http
            .get(&self.url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(chain)?;
        let jwks: JwkSet = response.json().await.map_err(chain)?;
        let keys = usable_keys(&jwks);
        tracing::info!(url = %self.url, keys = keys.len(), "fetched token signing keys");
        Ok(keys)
    }

    fn unavailable(&self, reason: String) -> TokenError {
        TokenError::KeysUnavailable {
            url: self.url.clone(),
            reason,
        }
    }
}

fn invalid(err: jsonwebtoken::errors::Error) -> TokenError {
    TokenError::Invalid(match err.kind() {
        ErrorKind::ExpiredSignature => "token has expired",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm => "unsupported signing algorithm",
        ErrorKind::MissingRequiredClaim(_) => "missing required claim",
        ErrorKind::InvalidClaimFormat(_) | ErrorKind::Json(_) => "malformed claims",
        _ => "malformed token",
    })
}
