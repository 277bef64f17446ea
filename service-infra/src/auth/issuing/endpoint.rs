//! The token endpoint (OAuth2 client credentials) and the public key set.
//!
//! Credentials come as a form body (`grant_type=client_credentials&
//! client_id=..&client_secret=..`), as HTTP Basic with a form body holding
//! the grant type, or as JSON `{client_id, client_secret}`. Errors follow
//! RFC 6749 §5.2 (`error`, `error_description`) and also carry the usual
//! `code` and `message`. Secrets never reach a log line. Central and every
//! store serve this same endpoint, each with its own clients and key.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use prometheus::IntCounterVec;
use protocol::central::{OAuthErrorBody, TokenRequest, TokenResponse};
use protocol::error as responses;

use super::clients::{Clients, valid_client_id};
use super::limiter::FailureLimiter;
use super::tokens::TokenIssuer;
use crate::RawBody;
use crate::api_routes;
use crate::app::ApiRoutes;
use crate::auth::Role;
use crate::metrics::Registrar;
use crate::secret::Secret;

/// `/auth/token` and `/.well-known/jwks.json`, for any app state that
/// provides a [`TokenService`].
pub fn routes<S>() -> ApiRoutes<S>
where
    S: Clone + Send + Sync + 'static,
    TokenService: FromRef<S>,
{
    api_routes![token, jwks]
}

/// What the token endpoint needs: the clients, the issuer, the brute-force
/// limit and the metrics. Cheap to clone.
#[derive(Clone)]
pub struct TokenService {
    clients: Clients,
    issuer: Arc<TokenIssuer>,
    limiter: Arc<FailureLimiter>,
    metrics: TokenMetrics,
}

impl TokenService {
    /// A token endpoint for `clients`, signing with `issuer`.
    pub fn new(clients: Clients, issuer: TokenIssuer, metrics: TokenMetrics) -> Self {
        Self::with_limiter(clients, issuer, metrics, FailureLimiter::default())
    }

    /// The same with its own brute-force limit.
    pub fn with_limiter(
        clients: Clients,
        issuer: TokenIssuer,
        metrics: TokenMetrics,
        limiter: FailureLimiter,
    ) -> Self {
        Self {
            clients,
            issuer: Arc::new(issuer),
            limiter: Arc::new(limiter),
            metrics,
        }
    }

    /// The issuer, for a verifier of its tokens.
    pub fn issuer(&self) -> &TokenIssuer {
        &self.issuer
    }
}

/// `<app>_tokens_issued_total{role}` and `<app>_token_failures_total{reason}`
/// (`reason` is the OAuth2 error, or `rate_limited`).
#[derive(Clone)]
pub struct TokenMetrics {
    issued: IntCounterVec,
    failures: IntCounterVec,
}

impl TokenMetrics {
    /// Registers the metrics named after `app` (`central`, `store`).
    pub fn new(registrar: &Registrar, app: &str) -> prometheus::Result<Self> {
        Ok(Self {
            issued: registrar.counter_vec(
                &format!("{app}_tokens_issued_total"),
                "Access tokens issued, by role.",
                &["role"],
            )?,
            failures: registrar.counter_vec(
                &format!("{app}_token_failures_total"),
                "Token requests refused, by reason (`rate_limited` after too many failures).",
                &["reason"],
            )?,
        })
    }

    fn issued(&self, role: Role) {
        self.issued.with_label_values(&[role.as_str()]).inc();
    }

    fn failed(&self, reason: &str) {
        self.failures.with_label_values(&[reason]).inc();
    }
}

/// A refused token request.
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
    /// Seconds to wait, for a rate-limited request.
    retry_after: Option<u64>,
}

impl OAuthError {
    const INVALID_CLIENT: Self = Self {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_client",
        description: "unknown client or wrong secret",
        retry_after: None,
    };

    fn new(status: StatusCode, error: &'static str, description: &'static str) -> Self {
        Self {
            status,
            error,
            description,
            retry_after: None,
        }
    }

    fn invalid_request(description: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn rate_limited(wait: std::time::Duration) -> Self {
        Self {
            retry_after: Some(wait.as_secs().max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many failed attempts for this client or address; wait for Retry-After seconds",
            )
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody {
            error: self.error.to_owned(),
            error_description: self.description.to_owned(),
            code: self.error.to_owned(),
            message: self.description.to_owned(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"inventory\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Obtain an access token with client credentials.
#[utoipa::path(
    post, path = "/auth/token", tag = "auth",
    request_body(content(
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "application/json"),
    )),
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, body = OAuthErrorBody, description = "`invalid_request` (a missing or repeated field, an unreadable body, credentials both in Basic and the body) or `unsupported_grant_type`"),
        (status = 401, body = OAuthErrorBody, description = "`invalid_client`: unknown client or wrong secret"),
        (status = 405, response = responses::MethodNotAllowed),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 429, body = OAuthErrorBody, description = "`rate_limited`: too many failed attempts for this client id or source address; retry after `Retry-After` seconds",
            headers(("Retry-After" = u64, description = "Seconds until attempts are accepted again"))),
        (status = 503, body = OAuthErrorBody, description = "`temporarily_unavailable`: the client store is down"),
    )
)]
#[tracing::instrument(name = "issue_token", skip_all, fields(client_id))]
async fn token(
    State(state): State<TokenService>,
    extensions: Extensions,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let address = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    match issue(&state, address, &headers, &body).await {
        Ok(token) => {
            let mut response = axum::Json(token).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            state.metrics.failed(error.error);
            tracing::info!(error = error.error, "token request refused");
            error.into_response()
        }
    }
}

async fn issue(
    state: &TokenService,
    address: Option<IpAddr>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenResponse, OAuthError> {
    let request = parse_body(headers, body)?;
    match request.grant_type.as_deref() {
        Some("client_credentials") => {}
        None => return Err(OAuthError::invalid_request("grant_type is required")),
        Some(_) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only grant_type=client_credentials is supported",
            ));
        }
    }
    let in_body = request.client_id.is_some() || request.client_secret.is_some();
    let (client_id, secret) = match (basic_credentials(headers)?, in_body) {
        // RFC 6749 §2.3: one authentication method per request.
        (Some(_), true) => {
            return Err(OAuthError::invalid_request(
                "send the client credentials either as Basic or in the body, not both",
            ));
        }
        (Some(credentials), false) => credentials,
        (None, _) => match (request.client_id, request.client_secret) {
            (Some(id), Some(secret)) => (id, Secret::new(secret)),
            _ => {
                return Err(OAuthError::invalid_request(
                    "client_id and client_secret are required",
                ));
            }
        },
    };
    // Only a well-formed id reaches a log line or the limiter's keys.
    let valid_id = valid_client_id(&client_id).then_some(client_id.as_str());
    tracing::Span::current().record("client_id", valid_id.unwrap_or("<invalid>"));
    let attempt = state
        .limiter
        .admit(valid_id, address)
        .map_err(OAuthError::rate_limited)?;
    let client = match state.clients.authenticate(&client_id, &secret).await {
        Ok(Some(client)) => client,
        // Counted: a wrong secret or an unknown client.
        Ok(None) => return Err(OAuthError::INVALID_CLIENT),
        Err(err) => {
            state.limiter.forgive(attempt);
            tracing::error!(error = %err, "cannot look up client");
            return Err(OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the client store is unavailable; try again shortly",
            ));
        }
    };
    state.limiter.forgive(attempt);
    let issued = state.issuer.issue(&client).map_err(|err| {
        tracing::error!(error = %err, "cannot sign token");
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "cannot sign the token",
        )
    })?;
    state.metrics.issued(client.role);
    tracing::info!(role = %client.role, "token issued");
    Ok(TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer".to_owned(),
        expires_in: issued.expires_in,
    })
}

/// The request body, form-encoded or JSON; empty is allowed with Basic.
fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if body.is_empty() {
        return Ok(TokenRequest::default());
    }
    match content_type.as_str() {
        "application/x-www-form-urlencoded" => serde_urlencoded::from_bytes(body)
            .map_err(|_| OAuthError::invalid_request("the form body is malformed")),
        "application/json" => crate::extract::parse_json(body)
            .map_err(|_| OAuthError::invalid_request("the JSON body is malformed")),
        _ => Err(OAuthError::invalid_request(
            "send application/x-www-form-urlencoded or application/json",
        )),
    }
}

/// Client id and secret from an `Authorization: Basic` header, if any.
/// Another scheme (such as the `Bearer` token Swagger UI adds once
/// authorized) is not client authentication and is ignored.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, Secret)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OAuthError::invalid_request("the Basic credentials are malformed");
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok(Some((id.to_owned(), Secret::new(secret))))
}

/// The public keys that check this app's tokens.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "JWK set with this app's Ed25519 public keys"))
)]
async fn jwks(State(state): State<TokenService>) -> axum::Json<JwkSet> {
    axum::Json(state.issuer.keys().jwks().clone())
}
