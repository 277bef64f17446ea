//! [`AppState`]: what every handler can reach.

use axum::extract::FromRef;
use domain::StoreId;
use service_infra::auth::TokenVerifier;
use service_infra::auth::issuing::TokenService;
use service_infra::sync_bus::Nudger;

use crate::config::LocalAuth;
use crate::ledger::Ledger;
use crate::metrics::StoreMetrics;

/// The store's state, shared by every request.
/// Each field is an extractor's `FromRef` source (`#[derive(FromRef)]`).
#[derive(Clone, FromRef)]
pub struct AppState {
    pub store_id: StoreId,
    pub ledger: Ledger,
    pub nudger: Nudger,
    /// Checks central's tokens (the sync worker's, on `/v1/sync`).
    pub verifier: TokenVerifier,
    /// Issues the store's own tokens (`/auth/token`).
    pub tokens: TokenService,
    /// Checks the store's own tokens (`/v1/local`).
    #[from_ref(skip)]
    pub local_verifier: TokenVerifier,
    /// Whether `/v1/local` needs one.
    pub local_auth: LocalAuth,
    pub metrics: StoreMetrics,
    pub http: reqwest::Client,
    pub central_url: String,
}
