//! Drop-in replacements for axum's `Json`, `Path` and `Query` extractors
//! whose rejections are [`ApiError`]s, so a bad request gets the same JSON
//! error body as every other failure instead of axum's plain-text one.
//!
//! Bodies and query strings are parsed with `serde_path_to_error`, so a
//! value refused by its type's validation (a zero delta, a bad SKU, text
//! with NUL) is a 422 naming the field (`details.field`, e.g.
//! `changes[3].delta`), and invalid UTF-8 anywhere in a body is a 400.

use axum::body::Bytes;
use axum::extract::path::ErrorKind as PathErrorKind;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::ApiError;

/// JSON body extractor and response, like [`axum::Json`], rejecting with
/// 415 `unsupported_media_type`, 413 `payload_too_large`,
/// 400 `malformed_request` or 422 `validation_failed`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Path parameters extractor, like [`axum::extract::Path`], rejecting with
/// 422 `validation_failed` when a segment does not deserialize and
/// 400 `malformed_request` when it is not valid UTF-8.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

/// Query string extractor, like [`axum::extract::Query`], rejecting with
/// 422 `validation_failed` naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

/// The raw body, rejecting with 413 `payload_too_large` or
/// 400 `malformed_request` as JSON, for handlers that decode it themselves.
#[derive(Debug, Clone, Default)]
pub struct RawBody(pub Bytes);

/// Whether the request says its body is JSON (`application/json` or a
/// `+json` type, parameters allowed).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn bytes_rejection(rejection: &BytesRejection) -> ApiError {
    if rejection.status().as_u16() == 413 {
        ApiError::new(
            rejection.status(),
            "payload_too_large",
            "request body is too large",
        )
    } else {
        ApiError::malformed(format!(
            "could not read the request body: {}",
            rejection.body_text()
        ))
    }
}

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(Self)
            .map_err(|rejection| bytes_rejection(&rejection))
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::unsupported_media_type(
                "expected a request body with `Content-Type: application/json`",
            ));
        }
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        parse_json(&bytes).map(Self)
    }
}

/// Parses a JSON body: 400 unless it is valid UTF-8 and JSON, 422 naming the
/// field when a value is refused.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde_json skips the contents of fields it ignores without checking
    // their encoding, so check the whole body first.
    if let Err(error) = std::str::from_utf8(bytes) {
        return Err(ApiError::malformed(format!(
            "request body is not valid UTF-8: {error}"
        )));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let error = error.into_inner();
        if error.is_data() {
            field_error(&path, &without_position(&error))
        } else {
            ApiError::malformed(format!("request body is not valid JSON: {error}"))
        }
    })?;
    deserializer
        .end()
        .map_err(|error| ApiError::malformed(format!("request body is not valid JSON: {error}")))?;
    Ok(value)
}

/// serde_json's message without its " at line L column C" suffix.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// 422 `validation_failed` naming the field at `path` (serde's "missing
/// field" errors name the field in the message, one level below `path`).
fn field_error(path: &str, message: &str) -> ApiError {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'));
    let field = match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (_, Some(name)) => format!("{path}.{name}"),
        (_, None) => path.to_owned(),
    };
    ApiError::validation(
        format!("{field}: {message}"),
        json!({ "field": field, "reason": message }),
    )
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
        PathErrorKind::ParseErrorAtKey { key, .. } => ApiError::validation(
            format!("path parameter {key} is not valid"),
            json!({ "field": key, "reason": err.kind().to_string() }),
        ),
        kind => ApiError::validation(
            "a path parameter is not valid",
            json!({ "reason": kind.to_string() }),
        ),
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Self)
    }
}

/// Parses a query string: 422 naming the parameter when a value is refused.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let mut error = field_error(&path, &message);
        if path == "." && !message.starts_with("missing field") {
            error.message = format!("the query string is not valid: {message}");
            error.details = Some(json!({ "reason": message }));
        }
        error
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        delta: domain::Delta,
        reason: Option<protocol::Reason>,
    }

    fn field_of(error: &ApiError) -> Option<String> {
        error
            .details
            .as_ref()?
            .get("field")?
            .as_str()
            .map(str::to_owned)
    }

    #[test]
    fn a_refused_value_names_its_field() {
        let error = parse_json::<Body>(br#"{"delta": 0}"#).expect_err("zero delta");
        assert_eq!(error.code, "validation_failed");
        assert_eq!(field_of(&error).as_deref(), Some("delta"));
    }

    #[test]
    fn a_missing_field_is_named() {
        let error = parse_json::<Body>(b"{}").expect_err("no delta");
        assert_eq!(field_of(&error).as_deref(), Some("delta"));
    }

    #[test]
    fn nul_in_text_is_a_validation_error() {
        let error =
            parse_json::<Body>(br#"{"delta": 1, "reason": "a\u0000b"}"#).expect_err("NUL refused");
        assert_eq!(error.code, "validation_failed");
        assert_eq!(field_of(&error).as_deref(), Some("reason"));
    }

    #[test]
    fn invalid_utf8_anywhere_is_malformed() {
        let body = b"{\"delta\": 1, \"extra\": \"\xff\"}";
        let error = parse_json::<Body>(body).expect_err("invalid UTF-8");
        assert_eq!(error.code, "malformed_request");
    }

    #[test]
    fn the_smallest_i64_is_refused() {
        let error = parse_json::<Body>(br#"{"delta": -9223372036854775808}"#)
            .expect_err("i64::MIN refused");
        assert_eq!(error.code, "validation_failed");
    }

    #[test]
    fn a_bad_query_value_names_its_parameter() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Params {
            #[serde(default)]
            limit: protocol::Limit<500, 100>,
        }
        let error = parse_query::<Params>("limit=0").expect_err("limit 0");
        assert_eq!(field_of(&error).as_deref(), Some("limit"));
        assert!(parse_query::<Params>("").is_ok());
    }
}
