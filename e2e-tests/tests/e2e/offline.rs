//! Offline: with central stopped the store keeps accepting updates; none is
//! rejected, the worker backs off instead of trying (and fetching a token)
//! once per nudge, and once central is back every update is applied exactly
//! once without anyone calling the trigger (the worker's retries bring
//! them).

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
    // Dozens of nudges (the store's own publisher coalesces some), but
    // syncs only at the backoff steps (250 ms doubling to 2 s in tests): a
    // handful of failed attempts and token fetches.
    let worker = &stack.workers[0];
    let failed = worker.metric("sync_runs_total", "outcome=\"failed\"").await;
    let coalesced = worker
        .metric("sync_messages_total", "result=\"coalesced\"")
        .await;
    assert!(
        failed <= 20.0,
        "{failed} failed syncs for 200 nudges while central was down"
    );
    eprintln!("offline: {failed} failed syncs, {coalesced} nudges left to a scheduled retry");
    assert!(
        coalesced > failed,
        "{coalesced} nudges coalesced, {failed} syncs failed: not backing off"
    );

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
