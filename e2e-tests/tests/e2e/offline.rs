//! Offline: with central stopped the store keeps accepting updates; none is
//! rejected, and once central is back every one is applied exactly once
//! without anyone calling the trigger (the worker's retries bring them).

use std::time::{Duration, Instant};

use e2e_tests::harness::Stack;
use e2e_tests::harness::load;
use e2e_tests::harness::wait::wait_until;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_central_stopped_updates_wait_and_are_applied_once_it_is_back() {
    let mut stack = Stack::start().await;
    stack.stop_central();

    let operations = load::updates(stack.store(0), 200).await;
    let store = stack.store(0);
    wait_until(
        "a failed attempt to be recorded",
        Duration::from_secs(10),
        || async { store.status(operations[operations.len() - 1]).await.status == "retrying" },
    )
    .await;
    for id in &operations {
        let status = store.status(*id).await;
        assert!(
            status.status == "pending" || status.status == "retrying",
            "{id} is {status:?} while central is down"
        );
    }

    let restarted = Instant::now();
    stack.start_central().await;
    let ready = restarted.elapsed();
    let store = stack.store(0);
    wait_until(
        "every change to be synced",
        Duration::from_secs(30),
        || async {
            store
                .inventory()
                .await
                .iter()
                .all(|s| s.pending_changes == 0)
        },
    )
    .await;
    eprintln!(
        "offline: 200 changes synced {:?} after central was restarted (ready after {ready:?})",
        restarted.elapsed()
    );
    for id in &operations {
        assert_eq!(store.status(*id).await.status, "synced", "{id}");
    }
    stack.assert_applied_exactly_once(0, &operations).await;
    stack.assert_converged().await;
}
