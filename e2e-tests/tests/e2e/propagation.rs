//! A store update reaches central by itself, in about the time the nudge
//! takes, and its status turns `synced`.

use std::time::{Duration, Instant};

use e2e_tests::harness::wait::wait_for;
use e2e_tests::harness::{SKU, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_update_reaches_central_within_a_second_and_turns_synced() {
    let stack = Stack::start().await;
    let store = stack.store(0);
    let before = stack.central.item(&store.id, SKU).await;

    let sent = Instant::now();
    let update = store.update(SKU, -2, None).await;
    assert_eq!(update.status, "pending");
    let (item, _) = wait_for(
        "the update to reach central",
        Duration::from_secs(10),
        || async {
            let item = stack.central.item(&store.id, SKU).await;
            (item.version == before.version + 1).then_some(item)
        },
    )
    .await;
    let elapsed = sent.elapsed();
    eprintln!("propagation store -> central: {elapsed:?}");

    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    assert_eq!(item.quantity, before.quantity - 2);
    let (status, _) = wait_for(
        "the change to turn synced",
        Duration::from_secs(5),
        || async {
            let status = store.status(update.operation_id).await;
            (status.status == "synced").then_some(status)
        },
    )
    .await;
    assert_eq!(status.central_version, Some(item.version));
    assert!(status.ok);
    stack.assert_converged().await;
}

/// Right after a fresh start, sequential updates each reach central in
/// about a nudge's time, none waiting for a retry or the schedule (a manual
/// check once saw 1 of 30 take 5-10 s). Three fresh stacks, 30 updates each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_updates_on_a_fresh_stack_each_reach_central_promptly() {
    let mut slowest = Duration::ZERO;
    for round in 0..3 {
        let stack = Stack::start().await;
        let store = stack.store(0);
        let mut version = stack.central.item(&store.id, SKU).await.version;
        let mut times = Vec::with_capacity(30);
        for _ in 0..30 {
            let sent = Instant::now();
            store.update(SKU, -1, None).await;
            version += 1;
            wait_for(
                "the update to reach central",
                Duration::from_secs(30),
                || async {
                    (stack.central.item(&store.id, SKU).await.version >= version).then_some(())
                },
            )
            .await;
            times.push(sent.elapsed());
        }
        let max = times.iter().max().copied().unwrap_or_default();
        eprintln!("fresh stack {round}: 30 sequential updates, slowest {max:?}, all {times:?}");
        slowest = slowest.max(max);
        stack.assert_converged().await;
    }
    assert!(
        slowest < Duration::from_secs(2),
        "slowest update took {slowest:?}"
    );
}
