//! What the central and store clients share: the HTTP client with its
//! timeouts, endpoint URLs under a base URL, the bearer token with one
//! refresh on 401, and errors that name the service that failed.

use std::time::Duration;

use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;

use crate::token::{TokenError, TokenSource};

/// Longest response body kept in an error message.
const MAX_ERROR_BODY: usize = 500;

/// A failed call to central or a store.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{service} is unreachable: {source}")]
    Unreachable {
        service: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{service} answered {status}: {body}")]
    Status {
        service: String,
        status: StatusCode,
        body: String,
    },
    #[error("{service} sent an unreadable answer: {source}")]
    Decode {
        service: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl CallError {
    /// Whether the same call may succeed later without anyone changing
    /// configuration or code (network trouble, 5xx, 429, 408).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Decode { .. } => true,
            Self::Status { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
            }
            Self::Token(error) => error.is_transient(),
        }
    }
}

/// The HTTP client every call goes through: no TLS (the services talk over
/// the local network), a whole-request timeout and a shorter connect
/// timeout so a stopped service is noticed quickly.
pub fn client(timeout: Duration) -> reqwest::Result<Client> {
    Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
}

/// `base` joined with the relative `path`, keeping any path `base` has
/// (`http://h/central` + `v1/events` = `http://h/central/v1/events`).
pub fn endpoint(base: &Url, path: &str) -> anyhow::Result<Url> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        let with_slash = format!("{}/", base.path());
        base.set_path(&with_slash);
    }
    base.join(path)
        .map_err(|e| anyhow::anyhow!("cannot build {path} under {base}: {e}"))
}

/// Sends the request built by `build` with the current bearer token and
/// decodes a 2xx JSON answer. A 401 drops the token and retries once with
/// a new one (it may have expired in flight, or central rotated its key).
pub(crate) async fn call<T: DeserializeOwned>(
    tokens: &TokenSource,
    service: &str,
    build: impl Fn() -> RequestBuilder,
) -> Result<T, CallError> {
    let mut token = tokens.get().await?;
    let mut refreshed = false;
    loop {
        let response = build()
            .bearer_auth(token.as_str())
            .send()
            .await
            .map_err(|source| CallError::Unreachable {
                service: service.to_owned(),
                source,
            })?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED && !refreshed {
            tracing::info!(service, "token refused; fetching a new one");
            tokens.invalidate(&token).await;
            token = tokens.get().await?;
            refreshed = true;
            continue;
        }
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(CallError::Status {
                service: service.to_owned(),
                status,
                body: body.chars().take(MAX_ERROR_BODY).collect(),
            });
        }
        return response.json().await.map_err(|source| CallError::Decode {
            service: service.to_owned(),
            source,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("valid URL")
    }

    #[test]
    fn endpoint_keeps_the_base_path() {
        let joined = endpoint(&url("http://h:8000/central"), "v1/events").expect("joins");
        assert_eq!(joined.as_str(), "http://h:8000/central/v1/events");
    }

    #[test]
    fn endpoint_under_a_bare_host() {
        let joined = endpoint(&url("http://h:8000"), "v1/sync/batch").expect("joins");
        assert_eq!(joined.as_str(), "http://h:8000/v1/sync/batch");
    }
}
