//! The store's state, router and server lifecycle.

use std::future::Future;

use anyhow::Context;
use axum::extract::FromRef;
use domain::StoreId;
use service_infra::auth::TokenVerifier;
use service_infra::sync_bus::{Nudger, Topology};
use tokio::net::TcpListener;

use crate::config::StoreConfig;
use crate::database;
use crate::ledger::Ledger;
use crate::metrics::StoreMetrics;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store_id: StoreId,
    pub ledger: Ledger,
    pub nudger: Nudger,
    pub verifier: TokenVerifier,
    pub metrics: StoreMetrics,
    pub http: reqwest::Client,
    pub central_url: String,
}

impl FromRef<AppState> for TokenVerifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// A bound, ready-to-run store server.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
}

impl Application {
    /// Connects to the database and the broker and binds the listener (port
    /// 0 picks a free port: see [`Application::port`]).
    pub async fn build(config: StoreConfig) -> anyhow::Result<Self> {
        let pool = database::connect(&config).await?;
        let metrics = StoreMetrics::new().context("registering metrics")?;
        metrics.spawn_pending_refresher(pool.clone());
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()?;
        let state = AppState {
            store_id: config.store_id.clone(),
            ledger: Ledger::new(pool),
            nudger: Nudger::start(
                config.amqp_url.clone(),
                Topology::new(config.amqp_exchange.clone()),
            ),
            verifier: TokenVerifier::remote(config.jwks_url(), http.clone()),
            metrics,
            http,
            central_url: config.central_url.clone(),
        };
        let listener = TcpListener::bind(config.bind_addr)
            .await
            .with_context(|| format!("binding {}", config.bind_addr))?;
        tracing::info!(address = %listener.local_addr()?, store_id = %config.store_id, "store-app listening");
        Ok(Self {
            listener,
            router: crate::http::router(state),
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP")
    }
}
