//! Reservations end to end: a hold lowers what is available at central and
//! at the store; the store's pick-up syncs and ends the hold; an
//! unfulfilled hold expires; a hold racing an offline store's sale ends
//! short, never below zero; and a queue bound to the events exchange gets
//! one `stock.low` per crossing across a central restart.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use reqwest::StatusCode;
use serde_json::Value;

use e2e_tests::harness::wait::wait_for;
use e2e_tests::harness::{SKU, Stack};

const STEP_TIMEOUT: Duration = Duration::from_secs(15);

async fn hold(stack: &Stack, quantity: i64, expires_in: i64) -> String {
    let store = &stack.store(0).id;
    let (status, body) = stack.central.hold(store, SKU, quantity, expires_in).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["reservation_id"].as_str().expect("id").to_owned()
}

async fn central_status_becomes(stack: &Stack, id: &str, status: &str) {
    wait_for(
        &format!("reservation {id} {status}"),
        STEP_TIMEOUT,
        || async { (stack.central.reservation(id).await["status"] == status).then_some(()) },
    )
    .await;
}

async fn store_available_becomes(stack: &Stack, available: i64) -> Value {
    let store = stack.store(0);
    let (stock, waited) = wait_for(
        &format!("{available} available at the store"),
        STEP_TIMEOUT,
        || async {
            let stock = store.stock_json(SKU).await;
            (stock["available"] == available).then_some(stock)
        },
    )
    .await;
    eprintln!("{available} available at the store after {waited:?}");
    stock
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_reaches_the_store_and_its_pick_up_ends_it() {
    let stack = Stack::start().await;
    let store = stack.store(0);
    let quantity = store.stock(SKU).await.quantity;

    let id = hold(&stack, 3, 3600).await;
    let central = stack.central.item_json(&store.id, SKU).await;
    assert_eq!(central["available"], quantity - 3);
    let at_store = store_available_becomes(&stack, quantity - 3).await;
    assert_eq!(at_store["reserved"], 3, "{at_store}");

    let (status, pickup) = store.fulfil(&id).await;
    assert_eq!(status, StatusCode::CREATED, "{pickup}");
    central_status_becomes(&stack, &id, "fulfilled").await;
    stack.assert_converged().await;
    let central = stack.central.item_json(&store.id, SKU).await;
    assert_eq!(
        (central["quantity"].as_i64(), central["reserved"].as_i64()),
        (Some(quantity - 3), Some(0))
    );
    assert_eq!(store.stock_json(SKU).await["available"], quantity - 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfulfilled_hold_expires_and_its_units_come_back() {
    let stack = Stack::start().await;
    let quantity = stack.store(0).stock(SKU).await.quantity;
    let id = hold(&stack, 4, 2).await;
    store_available_becomes(&stack, quantity - 4).await;
    central_status_becomes(&stack, &id, "expired").await;
    store_available_becomes(&stack, quantity).await;
    let central = stack.central.item_json(&stack.store(0).id, SKU).await;
    assert_eq!(central["available"], quantity);
    stack.assert_converged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_racing_an_offline_stores_sale_ends_short_never_negative() {
    let mut stack = Stack::start().await;
    let quantity = stack.store(0).stock(SKU).await.quantity;
    stack.kill_worker(0);
    // The store, cut off from central, sells all but 2; head office, not
    // knowing, holds 5 of what it still sees.
    let sale = stack.store(0).update(SKU, -(quantity - 2), None).await;
    let id = hold(&stack, 5, 3600).await;
    stack.start_worker(0).await;
    central_status_becomes(&stack, &id, "short").await;
    stack.assert_converged().await;
    let central = stack.central.item_json(&stack.store(0).id, SKU).await;
    assert_eq!(
        (central["quantity"].as_i64(), central["reserved"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(
        stack.store(0).status(sale.operation_id).await.status,
        "synced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bound_queue_gets_one_stock_low_per_crossing_across_a_central_restart() {
    let mut stack = Stack::start().await;
    let store_id = stack.store(0).id.clone();
    let connection = lapin::Connection::connect(stack.amqp_url(), Default::default())
        .await
        .expect("broker");
    let channel = connection.create_channel().await.expect("channel");
    channel
        .exchange_declare(
            stack.events_exchange().into(),
            lapin::ExchangeKind::Topic,
            lapin::options::ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("exchange");
    let options = QueueDeclareOptions {
        exclusive: true,
        ..Default::default()
    };
    let queue = channel
        .queue_declare("".into(), options, FieldTable::default())
        .await
        .expect("queue");
    let binding = format!("stock.*.{store_id}.#");
    channel
        .queue_bind(
            queue.name().clone(),
            stack.events_exchange().into(),
            binding.as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind");
    let mut consumer = channel
        .basic_consume(
            queue.name().clone(),
            "e2e".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consume");

    let quantity = stack.store(0).stock(SKU).await.quantity;
    let (status, _) = stack
        .central
        .reorder_point(&store_id, SKU, quantity - 3)
        .await;
    assert_eq!(status, StatusCode::OK);
    stack.store(0).update(SKU, -2, None).await; // above the level: nothing
    stack.store(0).update(SKU, -2, None).await; // at level - 1: low
    let mut seen = Vec::new();
    let first = next_event(&mut consumer).await.expect("a stock.low");
    seen.push(first);
    stack.stop_central();
    stack.store(0).update(SKU, -1, None).await; // still low: nothing more
    stack.start_central().await;
    stack.assert_converged().await;
    stack.store(0).update(SKU, 10, None).await; // above again: restored
    seen.push(next_event(&mut consumer).await.expect("a stock.restored"));
    while let Some(more) = next_event_within(&mut consumer, Duration::from_secs(2)).await {
        seen.push(more);
    }
    let mut distinct: Vec<(String, String)> = seen
        .iter()
        .map(|m| {
            (
                m["message_id"].as_str().unwrap_or("").to_owned(),
                m["event"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    distinct.dedup();
    let events: Vec<&str> = distinct.iter().map(|(_, event)| event.as_str()).collect();
    assert_eq!(events, vec!["stock.low", "stock.restored"], "{seen:?}");
    let _ = connection.close(200, "done".into()).await;
}

async fn next_event(consumer: &mut lapin::Consumer) -> Option<Value> {
    next_event_within(consumer, STEP_TIMEOUT).await
}

async fn next_event_within(consumer: &mut lapin::Consumer, timeout: Duration) -> Option<Value> {
    let delivery = tokio::time::timeout(timeout, consumer.next())
        .await
        .ok()??
        .ok()?;
    delivery.ack(BasicAckOptions::default()).await.ok()?;
    serde_json::from_slice(&delivery.data).ok()
}
