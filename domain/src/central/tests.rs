//! Given/when/then tests of every central outcome decided by the aggregate.

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::TestFramework;

use super::*;
use crate::movement::ChangeKind;
use crate::values::{Delta, OperationId};

type CentralTest = TestFramework<CentralStock>;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .expect("valid time")
}

fn registered(quantity: i64) -> CentralEvent {
    CentralEvent::ItemRegistered {
        store_id: "STORE-001".parse().expect("valid store"),
        sku: "ELEC-CAM-006".parse().expect("valid sku"),
        name: "Canon EOS R6".into(),
        quantity,
        at: at(),
    }
}

fn change(delta: i64, expected_version: Option<i64>) -> ChangeRequest {
    ChangeRequest {
        operation_id: OperationId::from(uuid::Uuid::from_u128(7)),
        kind: ChangeKind::Adjustment,
        delta: Delta::try_from(delta).expect("valid delta"),
        expected_version,
        occurred_at: at(),
        origin: Origin::Store,
        follows_refused_change: false,
    }
}

fn applied(delta: i64, expected: Option<i64>, version: i64, quantity: i64) -> CentralEvent {
    CentralEvent::ChangeApplied {
        operation_id: OperationId::from(uuid::Uuid::from_u128(7)),
        kind: ChangeKind::Adjustment,
        delta: Delta::try_from(delta).expect("valid delta"),
        expected_version: expected,
        origin: Origin::Store,
        occurred_at: at(),
        version,
        quantity,
    }
}

#[test]
fn a_change_at_the_expected_version_is_applied() {
    CentralTest::with(())
        .given(vec![registered(25)])
        .when(CentralCommand::ApplyChange(change(-5, Some(0))))
        .then_expect_events(vec![applied(-5, Some(0), 1, 20)]);
}

#[test]
fn an_unconditional_change_applies_at_any_version() {
    CentralTest::with(())
        .given(vec![registered(25), applied(1, None, 1, 26)])
        .when(CentralCommand::ApplyChange(change(-6, None)))
        .then_expect_events(vec![applied(-6, None, 2, 20)]);
}

#[test]
fn a_stale_expected_version_is_a_final_conflict() {
    CentralTest::with(())
        .given(vec![registered(25), applied(1, None, 1, 26)])
        .when(CentralCommand::ApplyChange(change(-5, Some(0))))
        .then_expect_error(CentralError::VersionConflict {
            expected: 0,
            version: 1,
            quantity: 26,
        });
    assert!(Outcome::VersionConflict.is_final());
}

#[test]
fn an_expected_version_ahead_of_central_is_retryable() {
    CentralTest::with(())
        .given(vec![registered(25)])
        .when(CentralCommand::ApplyChange(change(-5, Some(2))))
        .then_expect_error(CentralError::VersionAhead {
            expected: 2,
            version: 0,
            quantity: 25,
        });
    assert!(!Outcome::VersionAhead.is_final());
}

#[test]
fn stock_never_goes_below_zero_at_central() {
    CentralTest::with(())
        .given(vec![registered(2)])
        .when(CentralCommand::ApplyChange(change(-3, None)))
        .then_expect_error(CentralError::InsufficientStock {
            requested: -3,
            version: 0,
            quantity: 2,
        });
}

#[test]
fn a_change_on_top_of_a_refused_one_conflicts_even_at_the_right_version() {
    let mut dependent = change(-1, Some(1));
    dependent.follows_refused_change = true;
    CentralTest::with(())
        .given(vec![registered(25), applied(4, None, 1, 29)])
        .when(CentralCommand::ApplyChange(dependent))
        .then_expect_error(CentralError::VersionConflict {
            expected: 1,
            version: 1,
            quantity: 29,
        });
}

#[test]
fn an_unconditional_change_does_not_depend_on_refused_ones() {
    let mut unconditional = change(-1, None);
    unconditional.follows_refused_change = true;
    CentralTest::with(())
        .given(vec![registered(25)])
        .when(CentralCommand::ApplyChange(unconditional))
        .then_expect_events(vec![applied(-1, None, 1, 24)]);
}

#[test]
fn changes_to_an_unregistered_sku_are_refused() {
    CentralTest::with(())
        .given_no_previous_events()
        .when(CentralCommand::ApplyChange(change(1, None)))
        .then_expect_error(CentralError::SkuNotFound);
}

#[test]
fn registering_twice_changes_nothing() {
    let CentralEvent::ItemRegistered {
        store_id, sku, at, ..
    } = registered(25)
    else {
        unreachable!("registered() builds ItemRegistered")
    };
    CentralTest::with(())
        .given(vec![registered(25)])
        .when(CentralCommand::Register {
            store_id,
            sku,
            name: "again".into(),
            quantity: 99,
            at,
        })
        .then_expect_events(vec![]);
}
