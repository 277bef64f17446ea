//! The application steps around the ledger, so handlers only translate
//! HTTP: recording a change or a count and what follows its commit (the count by
//! result, the sync nudge), and counting the sync outcomes the worker
//! records.

use domain::store::{StockEvent, SyncOutcome};
use domain::{OperationId, Sku};
use protocol::worker::CentralHold;
use service_infra::ApiError;

use crate::ledger::{
    AcceptedChange, AcceptedCount, Appended, CentralChange, ChangeRequest, CountRequest,
};
use crate::state::AppState;

/// Records a local change, counts it by result (`accepted`, `replayed` or
/// the error code) and, once it is committed, nudges the worker.
pub async fn record_change(
    state: &AppState,
    request: Result<ChangeRequest, ApiError>,
) -> Result<AcceptedChange, ApiError> {
    let result = match request {
        Ok(request) => state.ledger.change(&request).await.map_err(ApiError::from),
        Err(error) => Err(error),
    };
    let label = match &result {
        Ok(change) if change.replayed => "replayed",
        Ok(_) => "accepted",
        Err(error) => error.code,
    };
    state.metrics.changes.with_label_values(&[label]).inc();
    if let Ok(change) = &result
        && !change.replayed
    {
        let kind = change.kind.as_str();
        state.metrics.kinds.with_label_values(&[kind]).inc();
        tracing::info!(
            delta = change.delta.get(),
            quantity = change.quantity,
            version = change.version,
            "change accepted"
        );
        state.nudger.nudge(state.store_id.as_str());
    }
    result
}

/// Records a physical count and counts it by result (`differed`,
/// `matched`, `replayed` or the error code); a count that differed is a
/// change of kind `count`, counted and nudged like any.
pub async fn record_count(
    state: &AppState,
    request: Result<CountRequest, ApiError>,
) -> Result<AcceptedCount, ApiError> {
    let result = match request {
        Ok(request) => state.ledger.count(&request).await.map_err(ApiError::from),
        Err(error) => Err(error),
    };
    let label = match &result {
        Ok(count) if count.replayed => "replayed",
        Ok(count) if count.delta == 0 => "matched",
        Ok(_) => "differed",
        Err(error) => error.code,
    };
    state.metrics.counts.with_label_values(&[label]).inc();
    if let Ok(count) = &result
        && !count.replayed
    {
        tracing::info!(
            counted = count.counted,
            delta = count.delta,
            version = count.version,
            "count recorded"
        );
        if count.delta != 0 {
            let kind = domain::ChangeKind::Count.as_str();
            state.metrics.kinds.with_label_values(&[kind]).inc();
            state.nudger.nudge(state.store_id.as_str());
        }
    }
    result
}

/// Reapplies the rejected change `original` (a person, `client`, decided
/// it did happen): recorded, counted and nudged like any local change.
pub async fn reapply(
    state: &AppState,
    original: OperationId,
    client: Option<String>,
) -> Result<AcceptedChange, ApiError> {
    let request = state
        .ledger
        .reapplication(original, client)
        .await
        .map_err(ApiError::from);
    record_change(state, request).await
}

/// Puts a quarantined change back in the queue to central and nudges the
/// worker.
pub async fn release(state: &AppState, operation_id: OperationId) -> Result<(), ApiError> {
    state.ledger.release(operation_id).await?;
    tracing::info!(%operation_id, "quarantined change released for another try");
    state.nudger.nudge(state.store_id.as_str());
    Ok(())
}

/// Records central's final answers and counts the settled changes.
pub async fn record_outcomes(
    state: &AppState,
    outcomes: &[(Sku, OperationId, SyncOutcome)],
) -> Result<Vec<Appended>, ApiError> {
    let appended = state.ledger.record_outcomes(outcomes).await?;
    count_settled(state, &appended);
    Ok(appended)
}

/// Applies central's changes with the new checkpoint and counts the
/// changes they settled.
pub async fn apply_central_changes(
    state: &AppState,
    changes: &[CentralChange],
    holds: &[CentralHold],
    checkpoint: &str,
) -> Result<Vec<Appended>, ApiError> {
    let appended = state
        .ledger
        .apply_central_changes(changes, holds, checkpoint)
        .await?;
    count_settled(state, &appended);
    Ok(appended)
}

fn count_settled(state: &AppState, appended: &[Appended]) {
    for entry in appended {
        let outcome = match &entry.event {
            StockEvent::ChangeSynced { .. } => "synced",
            StockEvent::ChangeRejected { .. } => "rejected",
            _ => continue,
        };
        state
            .metrics
            .sync_outcomes
            .with_label_values(&[outcome])
            .inc();
    }
}
