//! A group decided on the states its writer kept, without a read, still
//! meets what the read would have told it: an operation id a count took,
//! and units held for a reservation.

use domain::store::StockError;
use store_app::ledger::{CountRequest, Ledger, LedgerError};

use crate::concurrency::change;
use crate::helpers::{LAPTOP, TestDatabase};

/// Another sample SKU (100 units), counted while the laptop's state is kept.
const OTHER: &str = "ELEC-PHONE-002";

#[tokio::test]
async fn an_operation_id_a_count_took_is_refused_on_a_kept_stream() {
    let db = TestDatabase::create().await;
    let ledger = Ledger::new(db.pool.clone());
    ledger
        .change(&change(LAPTOP, 1))
        .await
        .expect("keeps the laptop");
    let count = CountRequest {
        sku: OTHER.parse().expect("sku"),
        operation_id: domain::OperationId::new_v7(),
        counted: 100,
        expected_version: None,
        note: Default::default(),
    };
    let matched = ledger.count(&count).await.expect("count");
    assert_eq!(matched.delta, 0, "a count that matched holds only its id");

    let mut reusing = change(LAPTOP, 1);
    reusing.operation_id = count.operation_id;
    let answer = ledger.change(&reusing).await;
    assert!(
        matches!(answer, Err(LedgerError::OperationIdReused(_))),
        "{answer:?}"
    );
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'StockAdjusted'",
    )
    .bind(LAPTOP)
    .fetch_one(&db.pool)
    .await
    .expect("events");
    assert_eq!(events, 1, "only the first change");
}

#[tokio::test]
async fn a_sale_on_a_kept_stream_leaves_the_held_units() {
    let db = TestDatabase::create().await;
    let ledger = Ledger::new(db.pool.clone());
    let receipt = ledger.change(&change(LAPTOP, 1)).await.expect("receipt");
    // Central's word on a hold of every unit reaches the store meanwhile.
    sqlx::query(
        "INSERT INTO holds (reservation_id, sku, quantity, status, expires_at, version)
         VALUES ($1, $2, $3, 'held', now() + interval '1 hour', 1)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(LAPTOP)
    .bind(receipt.quantity)
    .execute(&db.pool)
    .await
    .expect("hold");

    let answer = ledger.change(&change(LAPTOP, -1)).await;
    assert!(
        matches!(
            answer,
            Err(LedgerError::Stock(StockError::InsufficientAvailable { .. }))
        ),
        "{answer:?}"
    );
    let quantity: i64 = sqlx::query_scalar("SELECT quantity FROM stock WHERE sku = $1")
        .bind(LAPTOP)
        .fetch_one(&db.pool)
        .await
        .expect("stock");
    assert_eq!(quantity, receipt.quantity, "nothing sold");
}
