//! Infrastructure shared by the HTTP apps and the sync worker: telemetry set-up,
//! HTTP observability layers and metrics, the JSON error body, health reports,
//! access-token checks, the shutdown signal, retrying lost write races,
//! locking and loading event streams, reading an event log in global order,
//! and the sync nudge bus.
//!
//! Only code that more than one process needs *and* that is about running a
//! service belongs here. Domain rules live in `domain`; anything used by a
//! single app stays in that app. This crate must not become a grab bag.

pub mod app;
pub mod auth;
pub mod cli;
pub mod db;
pub mod db_retry;
pub mod error;
pub mod event_log;
pub mod event_streams;
pub mod extract;
pub mod health;
pub mod http;
pub mod metrics;
pub mod rebuild;
pub mod secret;
pub mod shutdown;
pub mod sync_bus;
pub mod telemetry;

pub use error::{
    ApiError, ErrorBody, busy, database_error, method_not_allowed_fallback, not_found_fallback,
};
pub use extract::{Json, Path, Query, RawBody};
pub use http::with_observability;
pub use metrics::{HttpMetrics, metrics_router};
pub use shutdown::shutdown_signal;
pub use telemetry::{LogFormat, init_tracing};
/// Re-exported for [`api_routes!`].
pub use utoipa_axum;
