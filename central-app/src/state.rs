//! [`AppState`]: what every handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use service_infra::auth::TokenVerifier;
use service_infra::auth::issuing::TokenService;

use crate::ledger::Ledger;
use crate::metrics::CentralMetrics;
use crate::nudge::StoreNudger;

/// What handlers need. Cheap to clone.
/// Each field is an extractor's `FromRef` source (`#[derive(FromRef)]`).
#[derive(Clone, FromRef)]
pub struct AppState {
    pub ledger: Ledger,
    pub tokens: TokenService,
    pub verifier: TokenVerifier,
    pub metrics: CentralMetrics,
    pub nudger: Arc<dyn StoreNudger>,
}
