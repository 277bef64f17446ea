//! [`AppState`]: what every handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use service_infra::auth::TokenVerifier;

use crate::auth::clients::Clients;
use crate::auth::tokens::TokenIssuer;
use crate::ledger::Ledger;
use crate::metrics::CentralMetrics;
use crate::nudge::StoreNudger;

/// What handlers need. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub ledger: Ledger,
    pub clients: Clients,
    pub tokens: Arc<TokenIssuer>,
    pub verifier: TokenVerifier,
    pub metrics: CentralMetrics,
    pub nudger: Arc<dyn StoreNudger>,
}

impl FromRef<AppState> for TokenVerifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}
