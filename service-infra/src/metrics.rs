//! Prometheus HTTP metrics and the `/metrics` endpoint.
//!
//! Each process creates one [`Registry`], registers its own metrics on it, and
//! hands it to [`HttpMetrics::new`] and [`metrics_router`].

use std::time::Duration;

use crate::auth::issuing::TokenMetrics;
use crate::error::ApiError;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::core::Collector;
use prometheus::{
    Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// Latency buckets in seconds, from 1 ms to 5 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// A process's registry and the one way its metrics are made: each method
/// creates a metric, registers it and returns it.
#[derive(Clone, Default)]
pub struct Registrar {
    /// The registry every metric is registered on.
    pub registry: Registry,
}

impl Registrar {
    /// A registrar on a fresh registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `metric` and returns it.
    pub fn register<M: Collector + Clone + 'static>(&self, metric: M) -> prometheus::Result<M> {
        self.registry.register(Box::new(metric.clone()))?;
        Ok(metric)
    }

    /// A counter.
    pub fn counter(&self, name: &str, help: &str) -> prometheus::Result<IntCounter> {
        self.register(IntCounter::new(name, help)?)
    }

    /// A counter by the values of `labels`.
    pub fn counter_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> prometheus::Result<IntCounterVec> {
        self.register(IntCounterVec::new(Opts::new(name, help), labels)?)
    }

    /// An integer gauge.
    pub fn int_gauge(&self, name: &str, help: &str) -> prometheus::Result<IntGauge> {
        self.register(IntGauge::new(name, help)?)
    }

    /// A gauge.
    pub fn gauge(&self, name: &str, help: &str) -> prometheus::Result<Gauge> {
        self.register(Gauge::new(name, help)?)
    }

    /// A histogram with `buckets`.
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        buckets: &[f64],
    ) -> prometheus::Result<Histogram> {
        self.register(Histogram::with_opts(
            HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        )?)
    }
}

/// What every HTTP app exports, on its registrar: HTTP requests and the
/// tokens it issues. An app's own metrics are registered on the same
/// registrar ([`ServiceMetrics::registrar`]).
#[derive(Clone)]
pub struct ServiceMetrics {
    registrar: Registrar,
    /// HTTP metrics, and the registry `/metrics` exports.
    pub http: HttpMetrics,
    /// `<app>_tokens_issued_total{role}`, `<app>_token_failures_total{reason}`.
    pub tokens: TokenMetrics,
}

impl ServiceMetrics {
    /// A fresh registry with the HTTP and token metrics of `app`
    /// (`central`, `store`).
    pub fn new(app: &str) -> prometheus::Result<Self> {
        let registrar = Registrar::new();
        Ok(Self {
            http: HttpMetrics::new(&registrar.registry)?,
            tokens: TokenMetrics::new(&registrar, app)?,
            registrar,
        })
    }

    /// Where the app registers its own metrics.
    pub fn registrar(&self) -> &Registrar {
        &self.registrar
    }
}

/// HTTP request metrics, registered on the process's registry.
#[derive(Clone)]
pub struct HttpMetrics {
    /// The registry the metrics are registered on.
    pub registry: Registry,
    /// `http_requests_total{method, route, status}`.
    pub http_requests_total: IntCounterVec,
    /// `http_request_duration_seconds{method, route}`.
    pub http_request_duration_seconds: HistogramVec,
}

impl HttpMetrics {
    /// Creates the HTTP metrics and registers them on `registry`.
    ///
    /// Fails if metrics with the same names are already registered there.
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let registrar = Registrar {
            registry: registry.clone(),
        };
        Ok(Self {
            registry: registry.clone(),
            http_requests_total: registrar.counter_vec(
                "http_requests_total",
                "HTTP requests handled, by method, route and status.",
                &["method", "route", "status"],
            )?,
            http_request_duration_seconds: registrar.register(HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "Time from receiving an HTTP request to producing its response, in seconds.",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["method", "route"],
            )?)?,
        })
    }

    /// Records one handled request.
    pub(crate) fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests_total
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.http_request_duration_seconds
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics").finish_non_exhaustive()
    }
}

/// A router serving `GET /metrics` in the Prometheus text format.
pub fn metrics_router(registry: Registry) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(registry)
}

async fn render(State(registry): State<Registry>) -> Response {
    match TextEncoder::new().encode_to_string(&registry.gather()) {
        Ok(text) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response(),
        Err(err) => ApiError::internal(err).into_response(),
    }
}
