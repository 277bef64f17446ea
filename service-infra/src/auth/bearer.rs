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
        let token = bearer_token(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized("missing bearer token in the Authorization header")
        })?;
        let claims = TokenVerifier::from_ref(state)
            .verify(token)
            .await
            .map_err(|err| {
                tracing::debug!(error = %err, "rejected bearer token");
                ApiError::from(err)
            })?;
        Ok(Self(claims))
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme matched
/// case-insensitively, as RFC 9110 asks).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
