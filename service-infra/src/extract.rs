//! Drop-in replacements for axum's `Json`, `Path` and `Query` extractors whose
//! rejections are [`ApiError`]s, so a bad request gets the same JSON error body
//! as every other failure instead of axum's plain-text one.

use axum::extract::path::ErrorKind as PathErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;

/// JSON body extractor and response, like [`axum::Json`], rejecting with
/// 415 `unsupported_media_type`, 400 `malformed_request` or
/// 422 `validation_failed` (the serde message in `details.reason`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Path parameters extractor, like [`axum::extract::Path`], rejecting with
/// 422 `validation_failed` when a segment does not deserialize and
/// 400 `malformed_request` when it is not valid UTF-8.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

/// Query string extractor, like [`axum::extract::Query`], rejecting with
/// 422 `validation_failed`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

/// The innermost useful message of a rejection: the serde error (with the
/// offending field path) rather than axum's generic prefix.
fn reason(rejection: &(dyn std::error::Error + 'static)) -> String {
    match rejection.source() {
        Some(source) => source.to_string(),
        None => rejection.to_string(),
    }
}

impl<T, S> FromRequest<S> for Json<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::unsupported_media_type(
            "expected a request body with `Content-Type: application/json`",
        ),
        JsonRejection::JsonSyntaxError(err) => {
            ApiError::malformed(format!("request body is not valid JSON: {}", reason(&err)))
        }
        JsonRejection::JsonDataError(err) => ApiError::validation(
            "request body does not match the expected shape",
            json!({ "reason": reason(&err) }),
        ),
        JsonRejection::BytesRejection(err) if err.status().as_u16() == 413 => ApiError::new(
            err.status(),
            "payload_too_large",
            "request body is too large",
        ),
        other => ApiError::malformed(format!(
            "could not read the request body: {}",
            other.body_text()
        )),
    }
}

impl<T> IntoResponse for Json<T>
where
    axum::Json<T>: IntoResponse,
{
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl<T, S> FromRequestParts<S> for Path<T>
where
    axum::extract::Path<T>: FromRequestParts<S, Rejection = PathRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(path_rejection(rejection)),
        }
    }
}

fn path_rejection(rejection: PathRejection) -> ApiError {
    let PathRejection::FailedToDeserializePathParams(err) = rejection else {
        // Only reachable when a handler's extractors are wired wrongly.
        return ApiError::internal(anyhow::anyhow!(
            "path extraction: {}",
            rejection.body_text()
        ));
    };
    match err.kind() {
        PathErrorKind::InvalidUtf8InPathParam { .. } => {
            ApiError::malformed(format!("invalid URL: {}", err.kind()))
        }
        PathErrorKind::WrongNumberOfParameters { .. } | PathErrorKind::UnsupportedType { .. } => {
            ApiError::internal(anyhow::anyhow!("path extraction: {}", err.kind()))
        }
        kind => ApiError::validation(
            "a path parameter is not valid",
            json!({ "reason": kind.to_string() }),
        ),
    }
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    axum::extract::Query<T>: FromRequestParts<S, Rejection = QueryRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::validation(
                "the query string is not valid",
                json!({ "reason": reason(&rejection) }),
            )),
        }
    }
}
