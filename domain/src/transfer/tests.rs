//! Given/when/then tests of the transfer rules: the state machine and the
//! discrepancy.

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;

type TransferTest = TestFramework<Transfer>;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
        .single()
        .expect("valid time")
}

fn id() -> TransferId {
    TransferId::from(Uuid::from_u128(7))
}

fn store(n: u8) -> StoreId {
    format!("STORE-00{n}").parse().expect("store id")
}

fn order(quantity: i64) -> TransferOrder {
    TransferOrder {
        transfer_id: id(),
        from_store: store(1),
        to_store: store(2),
        sku: "ELEC-LAPTOP-001".parse().expect("sku"),
        quantity,
    }
}

fn requested() -> TransferEvent {
    TransferEvent::TransferRequested {
        order: order(5),
        at: at(),
    }
}

fn sku() -> Sku {
    "ELEC-LAPTOP-001".parse().expect("sku")
}

fn ship(store_n: u8, shipped: i64) -> TransferCommand {
    TransferCommand::Ship {
        store_id: store(store_n),
        sku: sku(),
        operation_id: id().step(TransferStep::Ship),
        shipped,
        at: at(),
    }
}

fn shipped() -> TransferEvent {
    TransferEvent::TransferShipped {
        transfer_id: id(),
        operation_id: id().step(TransferStep::Ship),
        shipped: 5,
        at: at(),
    }
}

fn receive(store_n: u8, received: i64) -> TransferCommand {
    TransferCommand::Receive {
        store_id: store(store_n),
        sku: sku(),
        operation_id: id().step(TransferStep::Receive),
        received,
        at: at(),
    }
}

fn received(received: i64) -> TransferEvent {
    TransferEvent::TransferReceived {
        transfer_id: id(),
        operation_id: id().step(TransferStep::Receive),
        received,
        discrepancy: 5 - received,
        at: at(),
    }
}

fn cancelled() -> TransferEvent {
    TransferEvent::TransferCancelled {
        transfer_id: id(),
        at: at(),
    }
}

fn wrong_status(status: TransferStatus, action: &'static str) -> TransferError {
    TransferError::WrongStatus { status, action }
}

#[test]
fn a_request_between_two_stores_is_recorded_once() {
    let request = TransferCommand::Request {
        order: order(5),
        at: at(),
    };
    TransferTest::with(())
        .given_no_previous_events()
        .when(request.clone())
        .then_expect_events(vec![requested()]);
    TransferTest::with(())
        .given(vec![requested()])
        .when(request)
        .then_expect_events(vec![]);
}

#[test]
fn a_request_needs_two_stores_units_and_a_fresh_id() {
    let mut same = order(5);
    same.to_store = store(1);
    TransferTest::with(())
        .given_no_previous_events()
        .when(TransferCommand::Request {
            order: same,
            at: at(),
        })
        .then_expect_error(TransferError::SameStore);
    TransferTest::with(())
        .given_no_previous_events()
        .when(TransferCommand::Request {
            order: order(0),
            at: at(),
        })
        .then_expect_error(TransferError::NonPositiveQuantity(0));
    TransferTest::with(())
        .given(vec![requested()])
        .when(TransferCommand::Request {
            order: order(6),
            at: at(),
        })
        .then_expect_error(TransferError::IdReused);
}

#[test]
fn the_source_ships_exactly_the_quantity_asked_for() {
    TransferTest::with(())
        .given(vec![requested()])
        .when(ship(1, 5))
        .then_expect_events(vec![shipped()]);
    TransferTest::with(())
        .given(vec![requested()])
        .when(ship(1, 4))
        .then_expect_error(TransferError::WrongQuantity {
            expected: 5,
            got: 4,
        });
    TransferTest::with(())
        .given(vec![requested()])
        .when(ship(2, 5))
        .then_expect_error(TransferError::WrongStore {
            store_id: store(2),
            side: "source",
        });
}

#[test]
fn a_step_must_move_the_transfers_sku() {
    let other: Sku = "ELEC-PHONE-002".parse().expect("sku");
    let mut wrong = ship(1, 5);
    if let TransferCommand::Ship { sku, .. } = &mut wrong {
        *sku = other.clone();
    }
    TransferTest::with(())
        .given(vec![requested()])
        .when(wrong)
        .then_expect_error(TransferError::WrongSku {
            expected: sku(),
            got: other,
        });
}

#[test]
fn nothing_ships_twice_or_after_a_cancel() {
    TransferTest::with(())
        .given(vec![requested(), shipped()])
        .when(ship(1, 5))
        .then_expect_error(wrong_status(TransferStatus::Shipped, "shipped"));
    TransferTest::with(())
        .given(vec![requested(), cancelled()])
        .when(ship(1, 5))
        .then_expect_error(wrong_status(TransferStatus::Cancelled, "shipped"));
}

#[test]
fn only_a_requested_transfer_can_be_cancelled() {
    TransferTest::with(())
        .given(vec![requested()])
        .when(TransferCommand::Cancel { at: at() })
        .then_expect_events(vec![cancelled()]);
    for history in [vec![requested(), shipped()], vec![requested(), cancelled()]] {
        let status = if history.contains(&shipped()) {
            TransferStatus::Shipped
        } else {
            TransferStatus::Cancelled
        };
        TransferTest::with(())
            .given(history)
            .when(TransferCommand::Cancel { at: at() })
            .then_expect_error(wrong_status(status, "cancelled"));
    }
    TransferTest::with(())
        .given_no_previous_events()
        .when(TransferCommand::Cancel { at: at() })
        .then_expect_error(TransferError::NotFound);
}

#[test]
fn nothing_is_received_before_it_ships_or_twice() {
    let action = "received (it must be shipped first)";
    TransferTest::with(())
        .given(vec![requested()])
        .when(receive(2, 5))
        .then_expect_error(wrong_status(TransferStatus::Requested, action));
    TransferTest::with(())
        .given(vec![requested(), shipped(), received(5)])
        .when(receive(2, 5))
        .then_expect_error(wrong_status(TransferStatus::Received, action));
    TransferTest::with(())
        .given(vec![requested(), shipped()])
        .when(receive(1, 5))
        .then_expect_error(TransferError::WrongStore {
            store_id: store(1),
            side: "destination",
        });
}

#[test]
fn a_short_or_long_receipt_is_the_discrepancy() {
    TransferTest::with(())
        .given(vec![requested(), shipped()])
        .when(receive(2, 5))
        .then_expect_events(vec![received(5)]);
    TransferTest::with(())
        .given(vec![requested(), shipped()])
        .when(receive(2, 3))
        .then_expect_events(vec![received(3)]);
    let mut state = Transfer::default();
    for event in [requested(), shipped(), received(3), received(3)] {
        cqrs_es::Aggregate::apply(&mut state, event);
    }
    assert_eq!(
        (
            state.status,
            state.shipped,
            state.received,
            state.discrepancy
        ),
        (TransferStatus::Received, Some(5), Some(3), Some(2))
    );
}

#[test]
fn step_ids_are_stable_and_distinct() {
    let ship = id().step(TransferStep::Ship);
    assert_eq!(ship, id().step(TransferStep::Ship));
    assert_ne!(ship, id().step(TransferStep::Receive));
    assert_ne!(
        ship,
        TransferId::from(Uuid::from_u128(8)).step(TransferStep::Ship)
    );
}
