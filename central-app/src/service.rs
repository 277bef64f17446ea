//! The application steps around the ledger, so handlers only translate
//! HTTP: deciding changes and transfer steps, counting them, and nudging a
//! store after a head-office change or a transfer step commits.

use domain::StoreId;
use domain::central::{Origin, Outcome};

use domain::reservation::{HoldOrder, ReservationId};
use domain::transfer::{TransferId, TransferOrder};

use crate::ledger::{Applied, Change, Decision, LedgerError};
use crate::projections::reservations::HoldRow;
use crate::projections::transfers::{self, TransferRow};
use crate::state::AppState;

/// Decides a batch of one store's changes, in order, and counts it; a
/// transfer step it applied nudges the other store.
pub async fn decide_batch(
    state: &AppState,
    store_id: &StoreId,
    changes: &[Change],
) -> Result<Vec<Decision>, LedgerError> {
    let applied = state.ledger.apply_batch(store_id, changes).await?;
    count_holds(state, &applied);
    let decisions = applied.decisions;
    state.metrics.observe_batch(changes.len());
    state.metrics.record_decisions(changes, &decisions);
    nudge_transfer_steps(state, changes, &decisions).await;
    Ok(decisions)
}

/// Counts the holds a batch fulfilled and left short (the store sold held
/// units first).
fn count_holds(state: &AppState, applied: &Applied) {
    let ended = &state.metrics.holds_ended;
    ended
        .with_label_values(&["fulfilled"])
        .inc_by(applied.holds_fulfilled as u64);
    ended
        .with_label_values(&["short"])
        .inc_by(applied.holds_short as u64);
}

/// Nudges both stores of each transfer a batch moved, so the other store
/// learns within seconds that it shipped or arrived.
async fn nudge_transfer_steps(state: &AppState, changes: &[Change], decisions: &[Decision]) {
    let moved = changes
        .iter()
        .zip(decisions)
        .filter_map(|(change, decision)| {
            (decision.outcome == Outcome::Applied && !decision.replayed)
                .then_some(change.transfer)
                .flatten()
        });
    for id in moved {
        match transfers::one(state.ledger.pool(), id).await {
            Ok(Some(row)) => nudge_both(state, &row),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, transfer = %id, "could not read a transfer to nudge its stores")
            }
        }
    }
}

/// Nudges a transfer's two stores (after its step committed).
fn nudge_both(state: &AppState, row: &TransferRow) {
    for store in [&row.from_store, &row.to_store] {
        match store.parse::<StoreId>() {
            Ok(store_id) => state.nudger.nudge(&store_id),
            Err(error) => tracing::warn!(%error, "a stored transfer names a bad store id"),
        }
    }
}

/// Records head office's transfer request, counts it and nudges both
/// stores.
pub async fn request_transfer(
    state: &AppState,
    order: TransferOrder,
    client: String,
) -> Result<TransferRow, LedgerError> {
    let row = state.ledger.request_transfer(order, Some(client)).await?;
    transfer_step_done(state, &row, "requested");
    Ok(row)
}

/// Cancels a transfer that has not shipped, counts it and nudges both
/// stores.
pub async fn cancel_transfer(
    state: &AppState,
    id: TransferId,
    client: String,
) -> Result<TransferRow, LedgerError> {
    let row = state.ledger.cancel_transfer(id, Some(client)).await?;
    transfer_step_done(state, &row, "cancelled");
    Ok(row)
}

/// Holds units at a store for an online order and nudges the store.
pub async fn place_hold(
    state: &AppState,
    order: HoldOrder,
    client: String,
) -> Result<HoldRow, LedgerError> {
    let store_id = order.store_id.clone();
    let row = state.ledger.place_hold(order, Some(client)).await?;
    tracing::info!(reservation = %row.reservation_id, status = %row.status, "hold placed");
    state.nudger.nudge(&store_id);
    Ok(row)
}

/// Lets a hold go, counts it and nudges its store.
pub async fn release_hold(
    state: &AppState,
    id: ReservationId,
    client: String,
) -> Result<HoldRow, LedgerError> {
    let row = state.ledger.release_hold(id, Some(client)).await?;
    tracing::info!(reservation = %row.reservation_id, "hold released");
    state
        .metrics
        .holds_ended
        .with_label_values(&["released"])
        .inc();
    if let Ok(store_id) = row.store_id.parse::<StoreId>() {
        state.nudger.nudge(&store_id);
    }
    Ok(row)
}

fn transfer_step_done(state: &AppState, row: &TransferRow, step: &str) {
    tracing::info!(transfer = %row.transfer_id, status = %row.status, "transfer {step}");
    state
        .metrics
        .transfer_steps
        .with_label_values(&[step])
        .inc();
    nudge_both(state, row);
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
    let applied = state
        .ledger
        .apply_batch(store_id, std::slice::from_ref(change))
        .await?;
    count_holds(state, &applied);
    let decisions = applied.decisions;
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
