//! [`build`]: the state from the configuration, and the server bound to
//! serve it ([`Server::run_until_stopped`] serves until shut down).

use anyhow::Context;
use service_infra::auth::TokenVerifier;
use service_infra::cli::Serve;
use service_infra::http::Server;
use service_infra::sync_bus::{Nudger, Topology};

use crate::config::ServeConfig;
use crate::db::DEFAULT_MAX_CONNECTIONS;
use crate::ledger::Ledger;
use crate::metrics::StoreMetrics;
use crate::state::AppState;

/// Builds the state and binds `config.bind_addr` (port 0 picks a free
/// port; see [`Server::port`]).
pub async fn build(config: ServeConfig) -> anyhow::Result<Server> {
    let pool = config.database.pool(DEFAULT_MAX_CONNECTIONS)?;
    let metrics = StoreMetrics::new().context("register store metrics")?;
    metrics.spawn_pending_refresher(pool.clone());
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?;
    let state = AppState {
        store_id: config.store_id.clone(),
        ledger: Ledger::new(pool),
        nudger: Nudger::start(
            config.amqp_url.expose().to_owned(),
            Topology::new(config.amqp_exchange.clone()),
        ),
        verifier: TokenVerifier::remote(config.jwks_url(), http.clone()),
        metrics,
        http,
        central_url: config.central_url.clone(),
    };
    let server = Server::bind(config.bind_addr, crate::http::router(state)).await?;
    Ok(server)
}

impl Serve for ServeConfig {
    async fn build(self) -> anyhow::Result<Server> {
        build(self).await
    }
}
