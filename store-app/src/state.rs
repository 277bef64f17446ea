//! [`AppState`]: what every handler can reach.

use axum::extract::FromRef;
use domain::StoreId;
use service_infra::auth::TokenVerifier;
use service_infra::sync_bus::Nudger;

use crate::ledger::Ledger;
use crate::metrics::StoreMetrics;

/// The store's state, shared by every request.
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
