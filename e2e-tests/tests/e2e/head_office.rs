//! A head-office change alone, with no store activity, reaches the store
//! in seconds: central nudges the store's queue (the schedule is an hour).

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::harness::wait::wait_until;
use crate::harness::{SKU, Stack, StackOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_office_change_reaches_the_store_within_two_seconds() {
    let stack = Stack::start().await;
    let store = stack.store(0);
    let before = store.stock(SKU).await;

    let sent = Instant::now();
    let (status, body) = stack.central.adjust(&store.id, SKU, -4, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    wait_until(
        "the head-office change at the store",
        Duration::from_secs(10),
        || async { store.stock(SKU).await.confirmed_version == before.confirmed_version + 1 },
    )
    .await;
    let elapsed = sent.elapsed();
    eprintln!("propagation central -> store: {elapsed:?}");

    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    let after = store.stock(SKU).await;
    assert_eq!(after.quantity, before.quantity - 4);
    stack.assert_converged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_nudges_are_lost_the_schedule_brings_a_head_office_change() {
    let stack = Stack::start_with(StackOptions {
        worker_env: vec![("SYNC_INTERVAL".into(), "2s".into())],
        lose_central_nudges: true,
        ..StackOptions::default()
    })
    .await;
    let store = stack.store(1);
    let before = store.stock(SKU).await;

    let sent = Instant::now();
    let (status, body) = stack.central.adjust(&store.id, SKU, 3, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    wait_until(
        "the scheduled sync to bring the change",
        Duration::from_secs(10),
        || async { store.stock(SKU).await.confirmed_version == before.confirmed_version + 1 },
    )
    .await;
    let elapsed = sent.elapsed();
    eprintln!("head-office change through the 2 s schedule: {elapsed:?}");

    // One interval, its jitter (at most a tenth) and the sync itself.
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
    stack.assert_converged().await;
}
