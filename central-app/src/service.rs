//! The application steps around the ledger, so handlers only translate
//! HTTP: deciding changes, counting them, and nudging a store after a
//! head-office change to it commits.

use domain::StoreId;
use domain::central::{Origin, Outcome};

use crate::ledger::{Change, Decision, LedgerError};
use crate::state::AppState;

/// Decides a batch of one store's changes, in order, and counts it.
pub async fn decide_batch(
    state: &AppState,
    store_id: &StoreId,
    changes: &[Change],
) -> Result<Vec<Decision>, LedgerError> {
    let decisions = state.ledger.apply_batch(store_id, changes).await?;
    state.metrics.observe_batch(changes.len());
    state.metrics.record_decisions(changes, &decisions);
    Ok(decisions)
}

/// Decides one change and counts it; a newly applied head-office change
/// nudges the store's sync queue (after the commit, so the sync it starts
/// sees the change). `None` only if the ledger broke its promise of one
/// decision per change.
pub async fn decide_one(
    state: &AppState,
    store_id: &StoreId,
    change: &Change,
) -> Result<Option<Decision>, LedgerError> {
    let decisions = state
        .ledger
        .apply_batch(store_id, std::slice::from_ref(change))
        .await?;
    state
        .metrics
        .record_decisions(std::slice::from_ref(change), &decisions);
    let decision = decisions.into_iter().next();
    if decision.as_ref().is_some_and(|d| {
        d.outcome == Outcome::Applied && !d.replayed && change.origin == Origin::HeadOffice
    }) {
        state.nudger.nudge(store_id);
    }
    Ok(decision)
}
