//! [`build`]: the state from the configuration, and the server bound to
//! serve it ([`Server::run_until_stopped`] serves until shut down).

use std::sync::Arc;

use anyhow::Context;
use service_infra::cli::Serve;
use service_infra::http::Server;
use service_infra::sync_bus::{Nudger, Topology};

use crate::config::ServeConfig;
use crate::db::DEFAULT_MAX_CONNECTIONS;
use crate::ledger::Ledger;
use crate::metrics::CentralMetrics;
use crate::nudge::StoreNudger;
use crate::state::AppState;
use service_infra::auth::issuing::TokenService;
use service_infra::auth::issuing::clients::Clients;
use service_infra::auth::issuing::signing::SigningKeys;
use service_infra::auth::issuing::tokens::TokenIssuer;
use service_infra::auth::{Role, TokenScope};

/// Builds the application and binds `config.bind_addr` (port 0 picks a
/// free port; see [`Server::port`]). Head-office changes nudge the
/// store's sync queue through RabbitMQ, and the outbox is published to
/// `config.events_exchange`.
pub async fn build(config: ServeConfig) -> anyhow::Result<Server> {
    let topology = Topology::new(config.amqp_exchange.clone());
    let nudger = Nudger::start(config.amqp_url.expose().to_owned(), topology);
    build_with(config, Arc::new(nudger), Events::Publish).await
}

impl Serve for ServeConfig {
    async fn build(self) -> anyhow::Result<Server> {
        build(self).await
    }
}

/// Whether this process publishes the outbox (tests of other things leave
/// the broker alone; the messages wait in the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Events {
    Publish,
    Hold,
}

/// Like [`build`], with the given store nudger, and without publishing the
/// outbox.
pub async fn build_with_nudger(
    config: ServeConfig,
    nudger: Arc<dyn StoreNudger>,
) -> anyhow::Result<Server> {
    build_with(config, nudger, Events::Hold).await
}

/// Builds the application with the given store nudger; starts the hold
/// expiry task and, with [`Events::Publish`], the outbox publisher.
pub async fn build_with(
    config: ServeConfig,
    nudger: Arc<dyn StoreNudger>,
    events: Events,
) -> anyhow::Result<Server> {
    let keys = SigningKeys::load(&config.jwt_private_key_file)?;
    let pool = config.database.pool(DEFAULT_MAX_CONNECTIONS)?;
    let metrics = CentralMetrics::new().context("register central metrics")?;
    let issuer = TokenIssuer::new(keys, config.token_ttl.into(), TokenScope::central());
    let clients = Clients::new(pool.clone(), &Role::CENTRAL)?;
    let ledger = Ledger::new(pool.clone());
    crate::expiry::start(
        ledger.clone(),
        config.hold_expiry_interval.into(),
        metrics.holds_ended.clone(),
        Arc::clone(&nudger),
    );
    if events == Events::Publish {
        let amqp_url = config.amqp_url.expose().to_owned();
        let published = metrics.events_published.clone();
        drop(crate::outbox::start(
            pool,
            amqp_url,
            config.events_exchange.clone(),
            published,
        ));
    }
    let state = AppState {
        ledger,
        verifier: issuer.verifier(),
        tokens: TokenService::new(clients, issuer, metrics.service.tokens.clone()),
        metrics,
        nudger,
    };
    let server = Server::bind(config.bind_addr, crate::http::router(state)).await?;
    Ok(server)
}
