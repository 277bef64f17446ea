//! [`build`]: the state from the configuration, and the server bound to
//! serve it ([`Server::run_until_stopped`] serves until shut down).

use anyhow::Context;
use ed25519_dalek::SigningKey;
use service_infra::auth::issuing::TokenService;
use service_infra::auth::issuing::clients::Clients;
use service_infra::auth::issuing::signing::SigningKeys;
use service_infra::auth::issuing::tokens::TokenIssuer;
use service_infra::auth::{Role, TokenScope, TokenVerifier};
use service_infra::cli::Serve;
use service_infra::http::Server;
use service_infra::sync_bus::{Nudger, Topology};

use crate::config::{LocalAuth, ServeConfig};
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
    let issuer = TokenIssuer::new(
        signing_keys(&config)?,
        config.token_ttl.into(),
        TokenScope::store(config.store_id.as_str()),
    );
    let clients = Clients::new(pool.clone(), &Role::LOCAL)?;
    if config.local_auth == LocalAuth::Off {
        tracing::warn!(
            "LOCAL_AUTH=off: the local API takes changes without a token and records no client; development only"
        );
    }
    let state = AppState {
        store_id: config.store_id.clone(),
        ledger: Ledger::new(pool).counting_groups(metrics.group_commit_changes.clone()),
        local_verifier: issuer.verifier(),
        tokens: TokenService::new(clients, issuer, metrics.service.tokens.clone()),
        local_auth: config.local_auth,
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

/// The key that signs the store's own tokens: the configured file, or, with
/// `LOCAL_AUTH=off` and no file, one made now that lives as long as the
/// process.
fn signing_keys(config: &ServeConfig) -> anyhow::Result<SigningKeys> {
    match (&config.jwt_private_key_file, config.local_auth) {
        (Some(path), _) => Ok(SigningKeys::load(path)?),
        (None, LocalAuth::Off) => Ok(SigningKeys::from_signing_key(&SigningKey::from_bytes(
            &rand::random(),
        ))?),
        (None, LocalAuth::Required) => anyhow::bail!(
            "LOCAL_AUTH=required needs STORE_JWT_PRIVATE_KEY_FILE (create one with `store-app keys generate --out FILE`)"
        ),
    }
}
