//! The push half of a sync: the store's pending changes go to central in
//! log order, batch by batch, and each final answer is recorded at the
//! store. Answers that are not final stay pending and stop the push, so a
//! later change never overtakes an earlier one that is still waiting.

use std::collections::{BTreeMap, HashSet};

use chrono::Utc;
use domain::OperationId;
use domain::central::Outcome;
use protocol::{FinalOutcome, Quantity, StreamVersion};
use reqwest::StatusCode;

use super::{SyncContext, SyncError, SyncReport, SyncRun};
use crate::central_client::ChangeResult;
use crate::http::CallError;
use crate::store_client::{OutcomeReport, PendingChange, StoreClient};

/// Central's answer to one change, as the store should hear it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Final: record it at the store.
    Final(OutcomeReport),
    /// Not final: the change stays pending and is retried; the text is
    /// recorded as the change's last error.
    Retry(&'static str),
}

/// Sorts central's answer to one change into final or retry. Never turns
/// a doubtful answer into a rejection: only `version_conflict` and
/// `insufficient_stock` reject a change.
pub(super) fn verdict(change: &PendingChange, result: &ChangeResult) -> Verdict {
    let Some(outcome) = FinalOutcome::of(result.outcome) else {
        return Verdict::Retry(match result.outcome {
            Outcome::VersionAhead => {
                "version_ahead: an earlier change of this SKU has not reached central yet"
            }
            Outcome::OperationIdReused => {
                "operation_id_reused: central holds a different change under this operation id; needs an operator"
            }
            _ => "sku_not_found: central does not know this SKU for this store; needs an operator",
        });
    };
    let figures = result
        .version
        .and_then(|version| StreamVersion::try_from(version).ok())
        .zip(result.quantity.and_then(|q| Quantity::try_from(q).ok()));
    let Some((version, quantity)) = figures else {
        return Verdict::Retry("central's answer had no version or quantity");
    };
    Verdict::Final(OutcomeReport {
        operation_id: change.operation_id,
        sku: change.sku.clone(),
        outcome,
        version,
        quantity,
    })
}

/// Pushes batches until the store has nothing pending, a change must wait
/// for a retry, or `run.stop` is cancelled. The operation ids of the
/// applied changes whose answers it recorded go to `recorded`.
pub(super) async fn push(
    ctx: &SyncContext,
    store: &StoreClient,
    run: &SyncRun,
    report: &mut SyncReport,
    recorded: &mut HashSet<OperationId>,
) -> Result<(), SyncError> {
    let mut previous_head: Option<OperationId> = None;
    loop {
        if run.stop.is_cancelled() {
            report.interrupted = true;
            return Ok(());
        }
        let pending = store.pending(ctx.batch_size).await?;
        let Some(head) = pending.first().map(|c| c.operation_id) else {
            return Ok(());
        };
        if previous_head == Some(head) {
            return Err(SyncError::Protocol(format!(
                "the store still lists change {head} as pending after its outcome was recorded"
            )));
        }
        previous_head = Some(head);
        report.batches += 1;
        report.pushed += pending.len();
        ctx.metrics.batch_size.observe(pending.len() as f64);

        let results = match push_batch(ctx, store, &pending).await {
            Ok(results) => results,
            Err(error) if refused_as_a_whole(&error) => {
                if !isolate(ctx, store, run, &pending, report, recorded).await? {
                    return Ok(());
                }
                continue;
            }
            Err(error) => {
                note_failure(ctx, store, run, &pending, &error.to_string()).await;
                return Err(error);
            }
        };
        if !record(ctx, store, run, &pending, &results, report, recorded).await? {
            return Ok(());
        }
        if pending.len() < ctx.batch_size as usize {
            return Ok(());
        }
    }
}

/// Records central's answers to `pushed` at the store: final ones as
/// outcomes, the others as failures to retry. Returns whether the push goes
/// on (`false` when a change must wait for a retry, which keeps the order).
async fn record(
    ctx: &SyncContext,
    store: &StoreClient,
    run: &SyncRun,
    pushed: &[PendingChange],
    results: &[ChangeResult],
    report: &mut SyncReport,
    recorded: &mut HashSet<OperationId>,
) -> Result<bool, SyncError> {
    let Answers { outcomes, retries } = sort_answers(ctx, pushed, results, report);
    if !outcomes.is_empty() {
        store.record_outcomes(&outcomes).await?;
        recorded.extend(
            outcomes
                .iter()
                .filter(|o| o.outcome == FinalOutcome::Applied)
                .map(|o| o.operation_id),
        );
    }
    if retries.is_empty() {
        return Ok(true);
    }
    let next_attempt_at = next_attempt_at(ctx, run);
    for (reason, ids) in &retries {
        store.record_failure(ids, reason, next_attempt_at).await?;
        report.deferred += ids.len();
    }
    Ok(false)
}

/// Whether central refused a batch as a whole (a 4xx for the request, not
/// an answer per change) for something in it: not a token or a permission
/// problem, which no change causes.
fn refused_as_a_whole(error: &SyncError) -> bool {
    matches!(
        error,
        SyncError::Call(CallError::Status { status, .. })
            if status.is_client_error()
                && *status != StatusCode::UNAUTHORIZED
                && *status != StatusCode::FORBIDDEN
                && !error.is_transient()
    )
}

/// After central refused `pending` as a whole: pushes its changes one by
/// one, in order, until central refuses one alone. That change is
/// quarantined at the store (logged once, counted as `quarantined`) so the
/// rest can flow; an operator retries it after a fix. The answers before it
/// are recorded as usual. Returns whether the push goes on.
async fn isolate(
    ctx: &SyncContext,
    store: &StoreClient,
    run: &SyncRun,
    pending: &[PendingChange],
    report: &mut SyncReport,
    recorded: &mut HashSet<OperationId>,
) -> Result<bool, SyncError> {
    for change in pending {
        let alone = std::slice::from_ref(change);
        match push_batch(ctx, store, alone).await {
            Ok(results) => {
                if !record(ctx, store, run, alone, &results, report, recorded).await? {
                    return Ok(false);
                }
            }
            Err(error) if refused_as_a_whole(&error) => {
                if store
                    .quarantine(change.operation_id, &error.to_string())
                    .await?
                {
                    tracing::error!(
                        operation_id = %change.operation_id,
                        sku = %change.sku,
                        %error,
                        "central refuses this change in any batch; quarantined at the store so the rest can flow"
                    );
                }
                ctx.metrics
                    .changes
                    .with_label_values(&["quarantined"])
                    .inc();
                report.quarantined += 1;
                return Ok(true);
            }
            Err(error) => {
                note_failure(ctx, store, run, alone, &error.to_string()).await;
                return Err(error);
            }
        }
    }
    // Every change went through alone: the refusal was about the batch.
    Ok(true)
}

/// Central's answers to a batch, sorted for the store.
struct Answers {
    /// Final answers, in push order.
    outcomes: Vec<OutcomeReport>,
    /// Changes to retry, by the error recorded with them.
    retries: BTreeMap<&'static str, Vec<OperationId>>,
}

/// Sorts the answers to `pending` into final and retry, counting them in
/// `report` and the metrics (propagation latency for fresh applications).
fn sort_answers(
    ctx: &SyncContext,
    pending: &[PendingChange],
    results: &[ChangeResult],
    report: &mut SyncReport,
) -> Answers {
    let mut answers = Answers {
        outcomes: Vec::with_capacity(results.len()),
        retries: BTreeMap::new(),
    };
    let now = Utc::now();
    for (change, result) in pending.iter().zip(results) {
        ctx.metrics
            .changes
            .with_label_values(&[result.outcome.code()])
            .inc();
        match verdict(change, result) {
            Verdict::Final(outcome) if outcome.outcome == FinalOutcome::Applied => {
                report.applied += 1;
                if !result.replayed {
                    let latency = (now - change.occurred_at).num_milliseconds().max(0);
                    ctx.metrics.propagation.observe(latency as f64 / 1000.0);
                }
                answers.outcomes.push(outcome);
            }
            Verdict::Final(outcome) => {
                report.rejected += 1;
                answers.outcomes.push(outcome);
            }
            Verdict::Retry(reason) => {
                if result.outcome != Outcome::VersionAhead {
                    tracing::error!(
                        operation_id = %change.operation_id,
                        sku = %change.sku,
                        outcome = result.outcome.code(),
                        "central refused a change in a way only an operator can resolve; it stays pending"
                    );
                }
                answers
                    .retries
                    .entry(reason)
                    .or_default()
                    .push(change.operation_id);
            }
        }
    }
    answers
}

/// Pushes one batch and checks that the answer matches it change by change.
async fn push_batch(
    ctx: &SyncContext,
    store: &StoreClient,
    pending: &[PendingChange],
) -> Result<Vec<ChangeResult>, SyncError> {
    let results = ctx.central.push_batch(store.id(), pending).await?;
    if results.len() != pending.len() {
        return Err(SyncError::Protocol(format!(
            "central answered {} results for {} changes",
            results.len(),
            pending.len()
        )));
    }
    if let Some((change, result)) = pending
        .iter()
        .zip(&results)
        .find(|(change, result)| change.operation_id != result.operation_id)
    {
        return Err(SyncError::Protocol(format!(
            "central answered for {} where {} was pushed",
            result.operation_id, change.operation_id
        )));
    }
    Ok(results)
}

/// Marks the batch `retrying` at the store; best effort, since the store
/// may be what failed.
async fn note_failure(
    ctx: &SyncContext,
    store: &StoreClient,
    run: &SyncRun,
    pending: &[PendingChange],
    error: &str,
) {
    ctx.metrics
        .changes
        .with_label_values(&["failed"])
        .inc_by(pending.len() as u64);
    let ids: Vec<OperationId> = pending.iter().map(|c| c.operation_id).collect();
    if let Err(record_error) = store
        .record_failure(&ids, error, next_attempt_at(ctx, run))
        .await
    {
        tracing::warn!(error = %record_error, "could not record the failure at the store");
    }
}

fn next_attempt_at(ctx: &SyncContext, run: &SyncRun) -> chrono::DateTime<Utc> {
    let delay = ctx.retry.delay(run.attempt.saturating_add(1));
    Utc::now() + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change() -> PendingChange {
        PendingChange {
            operation_id: OperationId::new_v7(),
            sku: "SKU-1".parse().expect("sku"),
            kind: domain::ChangeKind::Sale,
            delta: domain::Delta::try_from(-1).expect("delta"),
            expected_version: StreamVersion::try_from(3).ok(),
            occurred_at: Utc::now(),
            client: None,
            transfer_id: None,
            reservation_id: None,
            attempts: 0,
        }
    }

    fn result(change: &PendingChange, outcome: Outcome, version: Option<i64>) -> ChangeResult {
        ChangeResult {
            operation_id: change.operation_id,
            outcome,
            version,
            quantity: version.map(|_| 10),
            replayed: false,
        }
    }

    #[test]
    fn applied_and_refusals_for_good_are_final() {
        let c = change();
        for (outcome, recorded_as) in [
            (Outcome::Applied, FinalOutcome::Applied),
            (Outcome::VersionConflict, FinalOutcome::VersionConflict),
            (Outcome::InsufficientStock, FinalOutcome::InsufficientStock),
            (Outcome::TransferRefused, FinalOutcome::TransferRefused),
        ] {
            let Verdict::Final(recorded) = verdict(&c, &result(&c, outcome, Some(4))) else {
                panic!("{outcome:?} must be final");
            };
            assert_eq!(
                (
                    recorded.outcome,
                    recorded.version.get(),
                    recorded.quantity.get()
                ),
                (recorded_as, 4, 10)
            );
        }
    }

    #[test]
    fn version_ahead_reuse_and_unknown_sku_are_never_final() {
        let c = change();
        for outcome in [
            Outcome::VersionAhead,
            Outcome::OperationIdReused,
            Outcome::SkuNotFound,
        ] {
            assert!(
                matches!(
                    verdict(&c, &result(&c, outcome, Some(2))),
                    Verdict::Retry(_)
                ),
                "{outcome:?} must be retried"
            );
        }
    }

    #[test]
    fn a_final_outcome_without_figures_is_retried() {
        let c = change();
        assert!(matches!(
            verdict(&c, &result(&c, Outcome::Applied, None)),
            Verdict::Retry(_)
        ));
    }
}
