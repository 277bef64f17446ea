//! Poison on a store's queue (a body that names no store, or another
//! store) goes to the dead-letter queue, and syncing goes on.

use std::time::Duration;

use e2e_tests::harness::wait::{wait_for, wait_until};
use e2e_tests::harness::{SKU, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_are_dead_lettered_and_sync_goes_on() {
    let stack = Stack::start().await;
    let store = stack.store(0);

    stack
        .publish_raw(&store.id, b"\xff\xfe not even text")
        .await;
    stack
        .publish_raw(&store.id, stack.store(1).id.as_bytes())
        .await;
    wait_until(
        "both poison messages dead-lettered",
        Duration::from_secs(10),
        || async { stack.dead_letters().await == 2 },
    )
    .await;

    let update = store.update(SKU, 1, None).await;
    wait_for(
        "the next change to sync",
        Duration::from_secs(5),
        || async { (store.status(update.operation_id).await.status == "synced").then_some(()) },
    )
    .await;
    stack.assert_converged().await;
}
