//! Given/when/then tests of every store-side rule.

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::Aggregate;
use cqrs_es::test::TestFramework;

use super::*;
use crate::values::{Delta, OperationId, Sku};

type StoreTest = TestFramework<StockItem>;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .expect("valid time")
}

fn sku() -> Sku {
    "ELEC-LAPTOP-001".parse().expect("valid sku")
}

fn delta(value: i64) -> Delta {
    Delta::try_from(value).expect("valid delta")
}

fn op(n: u128) -> OperationId {
    OperationId::from(uuid::Uuid::from_u128(n))
}

fn registered(quantity: i64) -> StockEvent {
    StockEvent::ItemRegistered {
        sku: sku(),
        name: "ThinkPad X1 Carbon".into(),
        quantity,
        at: at(),
    }
}

fn adjust(n: u128, value: i64, expected_version: Option<i64>) -> StockCommand {
    StockCommand::Adjust {
        operation_id: op(n),
        kind: ChangeKind::Adjustment,
        delta: delta(value),
        expected_version,
        note: ChangeNote::default(),
        held: 0,
        at: at(),
    }
}

/// Change `n` of kind `kind` by `value`.
fn typed(n: u128, kind: ChangeKind, value: i64) -> StockCommand {
    let mut command = adjust(n, value, None);
    if let StockCommand::Adjust { kind: k, .. } = &mut command {
        *k = kind;
    }
    command
}

fn adjusted(n: u128, value: i64, expected: Option<i64>, quantity: i64, version: i64) -> StockEvent {
    StockEvent::StockAdjusted {
        operation_id: op(n),
        kind: ChangeKind::Adjustment,
        delta: delta(value),
        expected_version: expected,
        reason: None,
        reapplies: None,
        client: None,
        transfer: None,
        reservation: None,
        at: at(),
        quantity,
        version,
    }
}

fn synced(
    n: u128,
    central_version: i64,
    central_quantity: i64,
    quantity: i64,
    version: i64,
) -> StockEvent {
    StockEvent::ChangeSynced {
        operation_id: op(n),
        central_version,
        central_quantity,
        at: at(),
        quantity,
        version,
    }
}

fn pending(n: u128, value: i64, expected_version: Option<i64>) -> PendingChange {
    PendingChange {
        operation_id: op(n),
        delta: delta(value),
        expected_version,
    }
}

fn outcome(
    change: Option<PendingChange>,
    later: Vec<PendingChange>,
    outcome: SyncOutcome,
) -> StockCommand {
    StockCommand::RecordOutcome {
        operation_id: change.as_ref().map_or(op(99), |c| c.operation_id),
        outcome,
        pending: change,
        later,
        at: at(),
    }
}

fn insufficient(available: i64, requested: i64) -> StockError {
    StockError::InsufficientStock {
        available,
        requested,
    }
}

fn conflict(version: i64, quantity: i64) -> SyncOutcome {
    SyncOutcome::Rejected {
        reason: RejectionReason::VersionConflict,
        version,
        quantity,
    }
}

fn central_change(
    n: u128,
    value: i64,
    version: i64,
    quantity: i64,
    own: Option<PendingChange>,
) -> StockCommand {
    StockCommand::ApplyCentralChange {
        operation_id: op(n),
        delta: delta(value),
        central_version: version,
        central_quantity: quantity,
        own_pending: own,
        at: at(),
    }
}

/// 50 laptops registered, then a sale of 5 (operation 1) not yet synced.
fn a_pending_sale() -> Vec<StockEvent> {
    vec![registered(50), adjusted(1, -5, None, 45, 1)]
}

/// [`a_pending_sale`], then synced at central's `version` and `quantity`.
fn a_sale_synced_at(version: i64, quantity: i64) -> Vec<StockEvent> {
    let mut events = a_pending_sale();
    events.push(synced(1, version, quantity, quantity, version));
    events
}

fn state_after(events: Vec<StockEvent>) -> StockItem {
    let mut item = StockItem::default();
    for event in events {
        item.apply(event);
    }
    item
}

#[test]
fn registering_twice_changes_nothing() {
    StoreTest::with(())
        .given(vec![registered(50)])
        .when(StockCommand::Register {
            sku: sku(),
            name: "other".into(),
            quantity: 7,
            at: at(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn adjusting_an_unregistered_sku_is_refused() {
    StoreTest::with(())
        .given_no_previous_events()
        .when(adjust(1, 5, None))
        .then_expect_error(StockError::SkuNotFound);
}

#[test]
fn a_change_whose_sign_does_not_fit_its_kind_is_refused() {
    let refusals = [
        (ChangeKind::Sale, 2),
        (ChangeKind::Damage, 1),
        (ChangeKind::Receipt, -3),
        (ChangeKind::Return, -1),
    ];
    for (kind, value) in refusals {
        let refused = StockError::SignDoesNotFitKind { kind, delta: value };
        StoreTest::with(())
            .given(vec![registered(50)])
            .when(typed(1, kind, value))
            .then_expect_error(refused);
    }
}

#[test]
fn a_sale_is_recorded_with_its_kind() {
    let mut expected = adjusted(1, -2, None, 48, 1);
    if let StockEvent::StockAdjusted { kind, .. } = &mut expected {
        *kind = ChangeKind::Sale;
    }
    StoreTest::with(())
        .given(vec![registered(50)])
        .when(typed(1, ChangeKind::Sale, -2))
        .then_expect_events(vec![expected]);
}

#[test]
fn an_adjustment_records_why_and_which_client_made_it() {
    let note = ChangeNote {
        reason: Some("shelf count".into()),
        client: Some("pos-01".into()),
        ..ChangeNote::default()
    };
    let mut expected = adjusted(1, -5, None, 45, 1);
    if let StockEvent::StockAdjusted { reason, client, .. } = &mut expected {
        *reason = Some("shelf count".into());
        *client = Some("pos-01".into());
    }
    StoreTest::with(())
        .given(vec![registered(50)])
        .when(StockCommand::Adjust {
            operation_id: op(1),
            kind: ChangeKind::Adjustment,
            delta: delta(-5),
            expected_version: None,
            note,
            held: 0,
            at: at(),
        })
        .then_expect_events(vec![expected]);
}

#[test]
fn an_adjustment_is_pending_with_the_resulting_quantity_and_version() {
    StoreTest::with(())
        .given(vec![registered(50)])
        .when(adjust(1, -5, None))
        .then_expect_events(vec![adjusted(1, -5, None, 45, 1)]);
}

#[test]
fn stock_never_goes_below_zero() {
    StoreTest::with(())
        .given(vec![registered(3)])
        .when(adjust(1, -4, None))
        .then_expect_error(insufficient(3, -4));
}

#[test]
fn pending_changes_count_towards_available_stock() {
    let one_left_after_a_pending_sale = vec![registered(5), adjusted(1, -4, None, 1, 1)];
    StoreTest::with(())
        .given(one_left_after_a_pending_sale)
        .when(adjust(2, -2, None))
        .then_expect_error(insufficient(1, -2));
}

#[test]
fn compare_and_set_on_the_current_version_is_accepted() {
    StoreTest::with(())
        .given(a_pending_sale())
        .when(adjust(2, 3, Some(1)))
        .then_expect_events(vec![adjusted(2, 3, Some(1), 48, 2)]);
}

#[test]
fn compare_and_set_on_a_stale_version_is_a_conflict() {
    StoreTest::with(())
        .given(a_pending_sale())
        .when(adjust(2, 3, Some(0)))
        .then_expect_error(StockError::VersionConflict {
            expected: 0,
            current: 1,
            quantity: 45,
        });
}

#[test]
fn a_synced_change_is_confirmed_with_centrals_figures() {
    StoreTest::with(())
        .given(a_pending_sale())
        .when(outcome(
            Some(pending(1, -5, None)),
            vec![],
            SyncOutcome::Applied {
                version: 1,
                quantity: 45,
            },
        ))
        .then_expect_events(vec![synced(1, 1, 45, 45, 1)]);
}

#[test]
fn an_outcome_for_a_change_no_longer_pending_writes_nothing() {
    StoreTest::with(())
        .given(a_sale_synced_at(1, 45))
        .when(outcome(None, vec![], conflict(1, 45)))
        .then_expect_events(vec![]);
}

#[test]
fn a_rejected_change_gives_its_delta_back() {
    StoreTest::with(())
        .given(vec![registered(50), adjusted(1, -5, Some(0), 45, 1)])
        .when(outcome(
            Some(pending(1, -5, Some(0))),
            vec![],
            conflict(1, 40),
        ))
        .then_expect_events(vec![StockEvent::ChangeRejected {
            operation_id: op(1),
            reason: RejectionReason::VersionConflict,
            because_of: None,
            central_version: 1,
            central_quantity: 40,
            at: at(),
            quantity: 40,
            version: 1,
        }]);
}

#[test]
fn changes_made_on_top_of_a_rejected_change_are_rejected_too() {
    let given = vec![
        registered(50),
        adjusted(1, -5, Some(0), 45, 1),
        adjusted(2, -1, Some(1), 44, 2),
        adjusted(3, -2, None, 42, 3),
        adjusted(4, 1, Some(3), 43, 4),
    ];
    let later = vec![
        pending(2, -1, Some(1)),
        pending(3, -2, None),
        pending(4, 1, Some(3)),
    ];
    let events = StoreTest::with(())
        .given(given.clone())
        .when(outcome(
            Some(pending(1, -5, Some(0))),
            later,
            conflict(1, 40),
        ))
        .inspect_result()
        .expect("outcome recorded");
    let rejected: Vec<_> = events.iter().filter_map(StockEvent::operation_id).collect();
    assert_eq!(
        rejected,
        vec![op(1), op(2), op(4)],
        "unconditional change 3 stays"
    );
    let item = state_after(given.into_iter().chain(events).collect());
    assert_eq!(item.pending_changes(), 1);
    assert_eq!((item.quantity, item.version), (38, 2));
}

#[test]
fn a_central_change_moves_the_confirmed_figures() {
    StoreTest::with(())
        .given(a_pending_sale())
        .when(central_change(9, -10, 1, 40, None))
        .then_expect_events(vec![StockEvent::CentralChangeApplied {
            operation_id: op(9),
            delta: delta(-10),
            central_version: 1,
            central_quantity: 40,
            at: at(),
            quantity: 35,
            version: 2,
        }]);
}

#[test]
fn a_central_change_already_reflected_is_skipped() {
    StoreTest::with(())
        .given(a_sale_synced_at(2, 35))
        .when(central_change(9, -10, 1, 40, None))
        .then_expect_events(vec![]);
}

#[test]
fn our_own_change_seen_in_centrals_log_counts_as_synced() {
    StoreTest::with(())
        .given(a_pending_sale())
        .when(central_change(1, -5, 1, 45, Some(pending(1, -5, None))))
        .then_expect_events(vec![synced(1, 1, 45, 45, 1)]);
}

#[test]
fn applying_every_event_twice_gives_the_same_state() {
    let events = vec![
        registered(50),
        adjusted(1, -5, None, 45, 1),
        adjusted(2, 2, Some(1), 47, 2),
        synced(1, 1, 45, 47, 2),
    ];
    let once = state_after(events.clone());
    let twice = state_after(events.into_iter().flat_map(|e| [e.clone(), e]).collect());
    assert_eq!(once, twice);
    assert_eq!(
        (twice.quantity, twice.version, twice.confirmed_quantity),
        (47, 2, 45)
    );
}

fn count(n: u128, counted: i64, expected_version: Option<i64>) -> StockCommand {
    StockCommand::Count {
        operation_id: op(n),
        counted,
        expected_version,
        note: ChangeNote::default(),
        at: at(),
    }
}

fn counted_change(n: u128, value: i64, quantity: i64, version: i64) -> StockEvent {
    let mut event = adjusted(n, value, None, quantity, version);
    if let StockEvent::StockAdjusted { kind, .. } = &mut event {
        *kind = ChangeKind::Count;
    }
    event
}

#[test]
fn a_count_below_the_quantity_is_a_negative_count_change() {
    // 45 after the pending sale; the shelf holds 42.
    StoreTest::with(())
        .given(a_pending_sale())
        .when(count(2, 42, None))
        .then_expect_events(vec![counted_change(2, -3, 42, 2)]);
}

#[test]
fn a_count_above_the_quantity_is_a_positive_count_change() {
    StoreTest::with(())
        .given(a_pending_sale())
        .when(count(2, 47, None))
        .then_expect_events(vec![counted_change(2, 2, 47, 2)]);
}

#[test]
fn a_count_that_matches_is_recorded_without_a_change() {
    StoreTest::with(())
        .given(a_pending_sale())
        .when(count(2, 45, Some(1)))
        .then_expect_events(vec![StockEvent::StockCounted {
            operation_id: op(2),
            counted: 45,
            expected_version: Some(1),
            reason: None,
            client: None,
            at: at(),
            quantity: 45,
            version: 1,
        }]);
}

#[test]
fn a_count_against_a_stale_version_is_a_conflict_even_when_it_matches() {
    for counted in [45, 40] {
        StoreTest::with(())
            .given(a_pending_sale())
            .when(count(2, counted, Some(0)))
            .then_expect_error(StockError::VersionConflict {
                expected: 0,
                current: 1,
                quantity: 45,
            });
    }
}

#[test]
fn a_negative_count_is_refused() {
    StoreTest::with(())
        .given(a_pending_sale())
        .when(count(2, -1, None))
        .then_expect_error(StockError::NegativeCount(-1));
}

#[test]
fn a_count_further_than_one_change_may_move_is_refused() {
    StoreTest::with(())
        .given(vec![registered(0)])
        .when(count(2, crate::values::MAX_ABS_DELTA + 1, None))
        .then_expect_error(StockError::CountTooFar {
            counted: crate::values::MAX_ABS_DELTA + 1,
            difference: crate::values::MAX_ABS_DELTA + 1,
        });
}

#[test]
fn both_kinds_of_count_set_when_the_sku_was_last_counted() {
    let plain = state_after(vec![registered(50), adjusted(1, -5, None, 45, 1)]);
    assert_eq!(plain.last_counted_at, None);
    let differed = state_after(vec![registered(50), counted_change(1, -5, 45, 1)]);
    assert_eq!(differed.last_counted_at, Some(at()));
    let matched = StockEvent::StockCounted {
        operation_id: op(1),
        counted: 50,
        expected_version: None,
        reason: None,
        client: None,
        at: at(),
        quantity: 50,
        version: 0,
    };
    let matched = state_after(vec![registered(50), matched.clone(), matched]);
    assert_eq!(
        (matched.last_counted_at, matched.quantity),
        (Some(at()), 50)
    );
}

#[test]
fn counting_an_unregistered_sku_is_refused() {
    StoreTest::with(())
        .given_no_previous_events()
        .when(count(1, 3, None))
        .then_expect_error(StockError::SkuNotFound);
}

/// A sale of `value` with `held` units held for reservations.
fn sale_with_holds(n: u128, value: i64, held: i64) -> StockCommand {
    let mut command = typed(n, ChangeKind::Sale, value);
    if let StockCommand::Adjust { held: h, .. } = &mut command {
        *h = held;
    }
    command
}

#[test]
fn a_sale_may_not_take_units_held_for_reservations() {
    // 45 after the pending sale, 40 of them held: 5 may be sold.
    StoreTest::with(())
        .given(a_pending_sale())
        .when(sale_with_holds(2, -6, 40))
        .then_expect_error(StockError::InsufficientAvailable {
            available: 5,
            requested: -6,
        });
    let mut sold = adjusted(2, -5, None, 40, 2);
    if let StockEvent::StockAdjusted { kind, .. } = &mut sold {
        *kind = ChangeKind::Sale;
    }
    StoreTest::with(())
        .given(a_pending_sale())
        .when(sale_with_holds(2, -5, 40))
        .then_expect_events(vec![sold]);
}

#[test]
fn other_kinds_and_counts_may_take_held_units() {
    let mut damage = typed(2, ChangeKind::Damage, -6);
    if let StockCommand::Adjust { held, .. } = &mut damage {
        *held = 40;
    }
    let mut written_off = adjusted(2, -6, None, 39, 2);
    if let StockEvent::StockAdjusted { kind, .. } = &mut written_off {
        *kind = ChangeKind::Damage;
    }
    StoreTest::with(())
        .given(a_pending_sale())
        .when(damage)
        .then_expect_events(vec![written_off]);
}
