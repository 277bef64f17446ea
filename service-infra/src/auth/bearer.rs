//! [`Bearer`]: the axum extractor that authenticates a request by its
//! `Authorization: Bearer <token>` header.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::{Claims, TokenVerifier};
use crate::error::ApiError;

/// The verified claims of the request's bearer token.
///
/// Rejects with 401 `unauthorized` when the header is missing or the token is
/// invalid, and 503 `auth_unavailable` when the signing keys cannot be fetched.
/// The state must provide a [`TokenVerifier`] through [`FromRef`].
#[derive(Debug, Clone)]
pub struct Bearer(pub Claims);

impl<S> FromRequestParts<S> for Bearer
where
    S: Send + Sync,
    TokenVerifier: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = TokenVerifier::from_ref(state);
        verify_bearer(&parts.headers, &verifier).await.map(Self)
    }
}

/// The claims of the `Authorization: Bearer` token in `headers`, checked by
/// `verifier`: 401 `unauthorized` when missing or invalid, 503
/// `auth_unavailable` when the keys cannot be fetched.
pub async fn verify_bearer(
    headers: &HeaderMap,
    verifier: &TokenVerifier,
) -> Result<Claims, ApiError> {
    let token = bearer_token(headers).ok_or_else(|| {
        ApiError::unauthorized("missing bearer token in the Authorization header")
    })?;
    verifier.verify(token).await.map_err(|err| {
        tracing::debug!(error = %err, "rejected bearer token");
        ApiError::from(err)
    })
}

/// The token of an `Authorization: Bearer <token>` header (scheme matched
/// case-insensitively, as RFC 9110 asks).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
