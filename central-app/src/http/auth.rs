//! The token endpoint (OAuth2 client credentials) and the public key set.
//!
//! Credentials come as a form body (`grant_type=client_credentials&
//! client_id=..&client_secret=..`), as HTTP Basic with a form body holding
//! the grant type, or as JSON `{client_id, client_secret}`. Errors follow
//! RFC 6749 §5.2 (`error`, `error_description`) and also carry the usual
//! `code` and `message`. Secrets never reach a log line.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use protocol::central::{OAuthErrorBody, TokenRequest, TokenResponse};
use protocol::error as responses;
use service_infra::RawBody;

use crate::config::Secret;
use crate::state::AppState;
use service_infra::api_routes;
use service_infra::app::ApiRoutes;

/// The routes this file serves, with their API description.
pub(super) fn routes() -> ApiRoutes<AppState> {
    api_routes![token, jwks]
}

/// A refused token request.
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
}

impl OAuthError {
    const INVALID_CLIENT: Self = Self {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_client",
        description: "unknown client or wrong secret",
    };

    fn invalid_request(description: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description,
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
                HeaderValue::from_static("Basic realm=\"inventory-central\""),
            );
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
        (status = 503, body = OAuthErrorBody, description = "`temporarily_unavailable`: the client store is down"),
    )
)]
#[tracing::instrument(name = "issue_token", skip_all, fields(client_id))]
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    match issue(&state, &headers, &body).await {
        Ok(token) => {
            let mut response = axum::Json(token).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            state.metrics.token_failed(error.error);
            tracing::info!(error = error.error, "token request refused");
            error.into_response()
        }
    }
}

async fn issue(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenResponse, OAuthError> {
    let request = parse_body(headers, body)?;
    match request.grant_type.as_deref() {
        Some("client_credentials") => {}
        None => return Err(OAuthError::invalid_request("grant_type is required")),
        Some(_) => {
            return Err(OAuthError {
                status: StatusCode::BAD_REQUEST,
                error: "unsupported_grant_type",
                description: "only grant_type=client_credentials is supported",
            });
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
    tracing::Span::current().record("client_id", client_id.as_str());
    let client = state
        .clients
        .authenticate(&client_id, &secret)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "cannot look up client");
            OAuthError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                error: "temporarily_unavailable",
                description: "the client store is unavailable; try again shortly",
            }
        })?
        .ok_or(OAuthError::INVALID_CLIENT)?;
    let issued = state.tokens.issue(&client).map_err(|err| {
        tracing::error!(error = %err, "cannot sign token");
        OAuthError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "cannot sign the token",
        }
    })?;
    state.metrics.token_issued(client.role);
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
        "application/json" => service_infra::extract::parse_json(body)
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

/// Central's public signing keys.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "JWK set with central's Ed25519 public keys"))
)]
pub async fn jwks(State(state): State<AppState>) -> axum::Json<JwkSet> {
    axum::Json(state.tokens.keys().jwks().clone())
}
