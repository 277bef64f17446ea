//! The observability layers every HTTP app wraps its router in: request ids,
//! one trace span and one log line per request, and request metrics.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, Method, Response, StatusCode};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::error::ApiError;
use crate::metrics::HttpMetrics;

/// The header carrying the request id, set on every request and response.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled by the current task, if any.
///
/// Set by [`with_observability`] for the duration of each handler, so that
/// [`ApiError::internal`](crate::error::ApiError::internal) can name it.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Wraps `router` in request-id, tracing and metrics layers.
///
/// Call it after every route and the fallback are added: axum applies layers
/// only to the routes that exist at that point.
///
/// - `x-request-id` is taken from the request or generated (UUID v4), and
///   copied onto every response;
/// - each request runs in an `info` span `request` with `method`, `path` (the
///   route template when matched) and `request_id`, and logs one line with
///   `status` and `latency_ms` when the response is ready;
/// - `http_requests_total` and `http_request_duration_seconds` are recorded.
pub fn with_observability(router: Router, metrics: HttpMetrics) -> Router {
    // Router::layer wraps each route, so the last layer added runs first.
    router
        .layer(middleware::from_fn(limit_headers))
        .layer(middleware::from_fn_with_state(metrics, observe))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_request(())
                .on_response(on_response)
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID_HEADER, MakeRequestUuid))
}

/// The most header bytes (names and values) a request may carry; a larger
/// head is refused with 431 `headers_too_large` before any handler runs.
/// (Past hyper's own limits, about 400 KiB or 100 headers, hyper answers
/// 431 itself, with an empty body, before the request reaches the router.)
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Refuses requests whose headers exceed [`MAX_HEADER_BYTES`].
async fn limit_headers(req: Request, next: Next) -> axum::response::Response {
    let size: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("request headers take {size} bytes; at most {MAX_HEADER_BYTES} are accepted"),
        )
        .into_response();
    }
    next.run(req).await
}

/// The matched route template, or the raw path when no route matched.
fn route_or_path(req: &Request) -> &str {
    match req.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str(),
        None => req.uri().path(),
    }
}

fn request_id_of(req: &Request) -> &str {
    req.extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("")
}

fn make_span(req: &Request) -> Span {
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %route_or_path(req),
        request_id = %request_id_of(req),
    )
}

fn on_response<B>(res: &Response<B>, latency: Duration, _span: &Span) {
    let status = res.status().as_u16();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if res.status().is_server_error() {
        tracing::warn!(status, latency_ms, "response");
    } else {
        tracing::info!(status, latency_ms, "response");
    }
}

/// Method label with bounded cardinality: extension methods become "OTHER".
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Records request metrics and makes the request id visible to handlers.
async fn observe(
    State(metrics): State<HttpMetrics>,
    req: Request,
    next: Next,
) -> axum::response::Response {
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let request_id = request_id_of(&req).to_owned();

    let started = Instant::now();
    let response = REQUEST_ID.scope(request_id, next.run(req)).await;
    metrics.observe(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// A bound HTTP server: the listener and the router it serves. Binding
/// port 0 picks a free port ([`Server::port`] says which).
pub struct Server {
    listener: tokio::net::TcpListener,
    router: Router,
    address: std::net::SocketAddr,
}

impl Server {
    /// Binds `address` for `router`.
    pub async fn bind(address: std::net::SocketAddr, router: Router) -> anyhow::Result<Self> {
        use anyhow::Context;
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        let address = listener.local_addr()?;
        Ok(Self {
            listener,
            router,
            address,
        })
    }

    /// The port the listener got.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(addr = %self.address, "listening");
        // The peer address is what the token endpoint limits failed
        // attempts by.
        let service = self
            .router
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
