//! Given/when/then tests of the hold state machine and the crossing rule.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;

type HoldTest = TestFramework<Hold>;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
        .single()
        .expect("valid time")
}

fn id() -> ReservationId {
    ReservationId::from(Uuid::from_u128(9))
}

fn order(quantity: i64) -> HoldOrder {
    HoldOrder {
        reservation_id: id(),
        store_id: "STORE-001".parse().expect("store id"),
        sku: "ELEC-LAPTOP-001".parse().expect("sku"),
        quantity,
        expires_at: at() + Duration::minutes(30),
    }
}

fn place(quantity: i64, available: i64) -> HoldCommand {
    HoldCommand::Place {
        order: order(quantity),
        available,
        at: at(),
    }
}

fn placed() -> HoldEvent {
    HoldEvent::HoldPlaced {
        order: order(2),
        at: at(),
    }
}

fn not_held(status: HoldStatus, action: &'static str) -> HoldError {
    HoldError::NotHeld { status, action }
}

/// Every way a hold ends, with the command that ends it that way.
fn endings() -> Vec<(HoldCommand, HoldEvent, HoldStatus)> {
    let late = at() + Duration::hours(1);
    let op = OperationId::from(Uuid::from_u128(77));
    vec![
        (
            HoldCommand::Fulfil {
                operation_id: op,
                at: at(),
            },
            HoldEvent::HoldFulfilled {
                reservation_id: id(),
                operation_id: op,
                at: at(),
            },
            HoldStatus::Fulfilled,
        ),
        (
            HoldCommand::Release { at: at() },
            HoldEvent::HoldReleased {
                reservation_id: id(),
                at: at(),
            },
            HoldStatus::Released,
        ),
        (
            HoldCommand::Expire { now: late },
            HoldEvent::HoldExpired {
                reservation_id: id(),
                at: late,
            },
            HoldStatus::Expired,
        ),
        (
            HoldCommand::MarkShort { at: at() },
            HoldEvent::HoldShort {
                reservation_id: id(),
                at: at(),
            },
            HoldStatus::Short,
        ),
    ]
}

#[test]
fn a_hold_takes_only_what_is_available() {
    HoldTest::with(())
        .given_no_previous_events()
        .when(place(2, 2))
        .then_expect_events(vec![placed()]);
    HoldTest::with(())
        .given_no_previous_events()
        .when(place(3, 2))
        .then_expect_error(HoldError::InsufficientAvailable {
            available: 2,
            requested: 3,
        });
    HoldTest::with(())
        .given_no_previous_events()
        .when(place(0, 5))
        .then_expect_error(HoldError::NonPositiveQuantity(0));
}

#[test]
fn placing_the_same_hold_again_does_nothing_and_another_is_a_reuse() {
    let mut later = order(2);
    later.expires_at += Duration::minutes(1);
    HoldTest::with(())
        .given(vec![placed()])
        .when(HoldCommand::Place {
            order: later,
            available: 0,
            at: at(),
        })
        .then_expect_events(vec![]);
    HoldTest::with(())
        .given(vec![placed()])
        .when(place(3, 10))
        .then_expect_error(HoldError::IdReused);
}

#[test]
fn a_held_reservation_ends_each_way_once() {
    for (command, event, _) in endings() {
        HoldTest::with(())
            .given(vec![placed()])
            .when(command)
            .then_expect_events(vec![event]);
    }
}

#[test]
fn nothing_leaves_a_final_state() {
    let actions = ["fulfilled", "released", "expired", "marked short"];
    for (_, ended, status) in endings() {
        for ((command, ..), action) in endings().into_iter().zip(actions) {
            HoldTest::with(())
                .given(vec![placed(), ended.clone()])
                .when(command)
                .then_expect_error(not_held(status, action));
        }
    }
}

#[test]
fn a_hold_expires_only_once_its_time_is_up() {
    HoldTest::with(())
        .given(vec![placed()])
        .when(HoldCommand::Expire {
            now: at() + Duration::minutes(29),
        })
        .then_expect_error(HoldError::NotDue {
            expires_at: at() + Duration::minutes(30),
        });
}

#[test]
fn nothing_happens_to_a_reservation_never_placed() {
    HoldTest::with(())
        .given_no_previous_events()
        .when(HoldCommand::Release { at: at() })
        .then_expect_error(HoldError::NotFound);
}

#[test]
fn applying_every_event_twice_gives_the_same_state() {
    let (_, ended, status) = endings().remove(0);
    let mut state = Hold::default();
    for event in [placed(), placed(), ended.clone(), ended] {
        cqrs_es::Aggregate::apply(&mut state, event);
    }
    assert_eq!(state.status, status);
    assert_eq!(state.order, Some(order(2)));
}

#[test]
fn an_alert_is_due_once_per_crossing() {
    // Stock falls 9 → 6 → 5 → 2 → 4, rises to 6 and 7, falls to 5, with a
    // reorder point of 5: low at 5, restored at 6, low again at 5.
    let mut low = false;
    let mut sent = Vec::new();
    for available in [9, 6, 5, 2, 4, 6, 7, 5] {
        if let Some(alert) = alert_due(5, low, available) {
            low = alert == Crossing::Low;
            sent.push((available, alert));
        }
    }
    assert_eq!(
        sent,
        vec![
            (5, Crossing::Low),
            (6, Crossing::Restored),
            (5, Crossing::Low)
        ]
    );
    assert_eq!(
        alert_due(5, false, 0),
        Some(Crossing::Low),
        "a level above stock is low at once"
    );
}
