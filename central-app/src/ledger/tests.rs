//! The batch rules decided in memory: replays, reuse and dependent changes.

use std::collections::HashMap;

use chrono::Utc;
use domain::central::{CentralCommand, Origin, Outcome};
use domain::{ChangeKind, Delta, OperationId, Sku, StoreId};
use serde_json::json;
use uuid::Uuid;

use super::transfers::TransferStreams;
use super::*;

fn store() -> StoreId {
    "STORE-001".parse().expect("valid store")
}

fn sku() -> Sku {
    "ELEC-CAM-006".parse().expect("valid sku")
}

fn change(id: u128, delta: i64, expected_version: Option<i64>, origin: Origin) -> Change {
    Change {
        operation_id: OperationId::from(Uuid::from_u128(id)),
        sku: sku(),
        kind: ChangeKind::Adjustment,
        delta: Delta::try_from(delta).expect("valid delta"),
        expected_version,
        occurred_at: Utc::now(),
        origin,
        reason: None,
        client: None,
        transfer: None,
        reservation: None,
    }
}

fn no_transfers() -> TransferStreams {
    TransferStreams::new([])
}

async fn registered(quantity: i64) -> Streams {
    let mut streams = Streams::new(store(), [sku()]);
    let command = CentralCommand::Register {
        store_id: store(),
        sku: sku(),
        name: "Canon EOS R6".into(),
        quantity,
        at: Utc::now(),
    };
    streams
        .execute(&sku(), command, &json!({}))
        .await
        .expect("register");
    streams
}

async fn decide(streams: &mut Streams, changes: &[Change]) -> Vec<(Outcome, Option<i64>, bool)> {
    let mut recorded = HashMap::new();
    let (decisions, _) = decide_batch(streams, &mut no_transfers(), &mut recorded, changes).await;
    decisions
        .into_iter()
        .map(|d| (d.outcome, d.version, d.replayed))
        .collect()
}

#[tokio::test]
async fn a_cas_change_after_a_refused_one_is_refused_even_at_the_expected_version() {
    let mut streams = registered(10).await;
    let changes = [
        change(1, -50, Some(0), Origin::Store),
        change(2, 5, None, Origin::HeadOffice),
        change(3, -1, Some(1), Origin::Store),
    ];
    let outcomes = decide(&mut streams, &changes).await;
    assert_eq!(
        outcomes,
        [
            (Outcome::InsufficientStock, Some(0), false),
            (Outcome::Applied, Some(1), false),
            (Outcome::VersionConflict, Some(1), false),
        ]
    );
}

#[tokio::test]
async fn an_id_repeated_in_a_batch_is_applied_once() {
    let mut streams = registered(10).await;
    let first = change(1, -2, None, Origin::Store);
    let outcomes = decide(&mut streams, &[first.clone(), first]).await;
    assert_eq!(
        outcomes,
        [
            (Outcome::Applied, Some(1), false),
            (Outcome::Applied, Some(1), true)
        ]
    );
    assert_eq!(streams.get(&sku()).map(|s| s.state.quantity), Some(8));
}

#[tokio::test]
async fn an_id_reused_for_another_delta_is_refused() {
    let mut streams = registered(10).await;
    let mut other = change(1, -2, None, Origin::Store);
    other.delta = Delta::try_from(-3).expect("valid delta");
    let outcomes = decide(&mut streams, &[change(1, -2, None, Origin::Store), other]).await;
    assert_eq!(outcomes[1], (Outcome::OperationIdReused, Some(1), false));
}

#[tokio::test]
async fn a_replayed_refusal_still_refuses_dependent_changes() {
    let mut streams = registered(10).await;
    let refused = change(1, -1, Some(5), Origin::Store);
    let mut recorded = HashMap::from([(
        refused.operation_id,
        Recorded {
            fingerprint: refused.fingerprint(),
            outcome: Outcome::VersionConflict,
            version: 0,
            quantity: 10,
        },
    )]);
    let dependent = change(2, -1, Some(0), Origin::Store);
    let (decisions, operations) = decide_batch(
        &mut streams,
        &mut no_transfers(),
        &mut recorded,
        &[refused, dependent],
    )
    .await;
    assert!(decisions[0].replayed);
    assert_eq!(decisions[1].outcome, Outcome::VersionConflict);
    assert_eq!(operations.len(), 1, "only the new refusal is recorded");
}

#[tokio::test]
async fn retryable_outcomes_are_not_recorded() {
    let mut streams = registered(10).await;
    let mut recorded = HashMap::new();
    let unknown = Change {
        sku: "NOPE-1".parse().expect("valid sku"),
        ..change(2, 1, None, Origin::Store)
    };
    let (decisions, operations) = decide_batch(
        &mut streams,
        &mut no_transfers(),
        &mut recorded,
        &[change(1, 1, Some(3), Origin::Store), unknown],
    )
    .await;
    assert_eq!(decisions[0].outcome, Outcome::VersionAhead);
    assert_eq!(decisions[1].outcome, Outcome::SkuNotFound);
    assert!(operations.is_empty());
    assert!(recorded.is_empty());
}
