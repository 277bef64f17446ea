//! The worker's HTTP server on `METRICS_ADDR`: `/metrics`, `/health/live`
//! and `/health/ready` (ready = connected to the broker and central
//! reachable; the body says which is down).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use prometheus::Registry;
use service_infra::health::{Readiness, live};
use service_infra::{metrics_router, not_found_fallback};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::bus::BrokerHealth;
use crate::central_client::CentralClient;

/// What the health checks look at.
#[derive(Clone)]
pub struct HealthState {
    pub broker: BrokerHealth,
    pub central: CentralClient,
}

/// The routes of the server.
pub fn router(registry: Registry, health: HealthState) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .with_state(health)
        .merge(metrics_router(registry))
        .fallback(not_found_fallback)
}

async fn ready(State(health): State<HealthState>) -> Readiness {
    Readiness::from_checks([
        ("broker", true, health.broker.check()),
        ("central", true, health.central.ready().await),
    ])
}

/// Serves until `stop` is cancelled.
pub async fn run(
    listener: TcpListener,
    router: Router,
    stop: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
}
