//! Deciding a batch of changes in memory, in order, on streams already
//! locked and loaded: the replay rule, the dependency rule and the
//! aggregate's version and stock rules. No I/O happens here.

use std::collections::{HashMap, HashSet};

use domain::central::{CentralCommand, CentralError, CentralEvent, ChangeRequest, Outcome};
use domain::idempotency::{ChangeFingerprint, Repeat};
use domain::{OperationId, Sku, Version};

use super::streams::Streams;
use super::transfers::{self, TransferStreams};
use super::{Change, Decision};
use crate::projections::write::OperationRow;

/// The final outcome recorded under an operation id.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub fingerprint: ChangeFingerprint,
    pub outcome: Outcome,
    pub version: Version,
    pub quantity: i64,
}

/// Decides every change in order. `recorded` holds the operations already
/// stored for the batch's ids and gains this batch's final outcomes, so an
/// id repeated inside the batch is answered as a replay too. Returns the
/// decisions and the idempotency rows to store.
///
/// A compare-and-set change that follows a final refusal of the same stream
/// in this batch (a replayed one included) is refused as a version conflict:
/// it was made on top of the refused change and must not apply on another
/// history that merely reached the version it expects.
pub async fn decide_batch(
    streams: &mut Streams,
    transfers: &mut TransferStreams,
    recorded: &mut HashMap<OperationId, Recorded>,
    changes: &[Change],
) -> (Vec<Decision>, Vec<OperationRow>) {
    let mut refused_streams: HashSet<Sku> = HashSet::new();
    let mut decisions = Vec::with_capacity(changes.len());
    let mut operations = Vec::new();
    for change in changes {
        let decision = match recorded.get(&change.operation_id) {
            Some(previous) => repeat(streams, change, previous),
            None => {
                let follows_refused_change = refused_streams.contains(&change.sku);
                let decision = apply(streams, transfers, change, follows_refused_change).await;
                if let (true, Some(version), Some(quantity)) = (
                    decision.outcome.is_final(),
                    decision.version,
                    decision.quantity,
                ) {
                    recorded.insert(
                        change.operation_id,
                        Recorded {
                            fingerprint: change.fingerprint(),
                            outcome: decision.outcome,
                            version,
                            quantity,
                        },
                    );
                    operations.push(OperationRow {
                        store_id: streams.store_id().to_string(),
                        operation_id: change.operation_id.as_uuid(),
                        sku: change.sku.to_string(),
                        kind: change.kind.as_str(),
                        delta: change.delta.get(),
                        expected_version: change.expected_version,
                        outcome: decision.outcome.code(),
                        version,
                        quantity,
                    });
                }
                decision
            }
        };
        if decision.outcome.is_final_refusal() {
            refused_streams.insert(change.sku.clone());
        }
        decisions.push(decision);
    }
    (decisions, operations)
}

/// A repeated operation id: the original answer for the same request,
/// `operation_id_reused` (with the stream's current figures) for another.
fn repeat(streams: &Streams, change: &Change, previous: &Recorded) -> Decision {
    match change.fingerprint().compare(&previous.fingerprint) {
        Repeat::Replay => Decision {
            operation_id: change.operation_id,
            sku: change.sku.clone(),
            outcome: previous.outcome,
            version: Some(previous.version),
            quantity: Some(previous.quantity),
            replayed: true,
        },
        Repeat::Reused => refused_as(streams, change, Outcome::OperationIdReused),
    }
}

/// `change` refused with `outcome` and the stream's current figures (none
/// for an unregistered SKU).
pub fn refused_as(streams: &Streams, change: &Change, outcome: Outcome) -> Decision {
    let current = streams
        .get(&change.sku)
        .filter(|stream| stream.state.is_registered());
    Decision {
        operation_id: change.operation_id,
        sku: change.sku.clone(),
        outcome,
        version: current.map(|stream| stream.state.version),
        quantity: current.map(|stream| stream.state.quantity),
        replayed: false,
    }
}

/// Runs the change through the aggregate, after its transfer (if it names
/// one) allowed the step; an applied step is recorded on the transfer.
async fn apply(
    streams: &mut Streams,
    transfers: &mut TransferStreams,
    change: &Change,
    follows_refused_change: bool,
) -> Decision {
    if let Some(error) = transfers::refusal(transfers, streams.store_id(), change) {
        return transfers::refused(streams, change, &error);
    }
    let request = ChangeRequest {
        operation_id: change.operation_id,
        kind: change.kind,
        delta: change.delta,
        expected_version: change.expected_version,
        occurred_at: change.occurred_at,
        origin: change.origin,
        follows_refused_change,
    };
    let result = streams
        .execute(
            &change.sku,
            CentralCommand::ApplyChange(request),
            &change.metadata(),
        )
        .await;
    let (outcome, figures) = match result {
        Ok(events) => (Outcome::Applied, applied_figures(&events)),
        Err(error) => (Outcome::from(&error), refusal_figures(&error)),
    };
    if outcome == Outcome::Applied {
        transfers::record_step(transfers, streams.store_id(), change).await;
    }
    Decision {
        operation_id: change.operation_id,
        sku: change.sku.clone(),
        outcome,
        version: figures.map(|(version, _)| version),
        quantity: figures.map(|(_, quantity)| quantity),
        replayed: false,
    }
}

/// Version and quantity right after an applied change.
fn applied_figures(events: &[CentralEvent]) -> Option<(Version, i64)> {
    events.iter().rev().find_map(|event| match event {
        CentralEvent::ChangeApplied {
            version, quantity, ..
        } => Some((*version, *quantity)),
        CentralEvent::ItemRegistered { .. } => None,
    })
}

/// Central's current version and quantity carried by a refusal.
fn refusal_figures(error: &CentralError) -> Option<(Version, i64)> {
    match error {
        CentralError::VersionConflict {
            version, quantity, ..
        }
        | CentralError::VersionAhead {
            version, quantity, ..
        }
        | CentralError::InsufficientStock {
            version, quantity, ..
        } => Some((*version, *quantity)),
        CentralError::SkuNotFound | CentralError::NegativeInitialQuantity(_) => None,
    }
}
