//! Nudges pile up while no worker runs (the store publishes one after
//! nearly every committed change). When a worker starts, one sync drains
//! the backlog and every nudge that was already queued when that sync
//! started is acked as coalesced instead of running a sync of its own.

use std::time::Duration;

use e2e_tests::harness::{Stack, load};

/// Time for the store's publisher to send its last nudge after the load.
const PUBLISHER_SETTLES: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nudges_queued_before_a_complete_sync_are_acked_without_syncing_again() {
    let mut stack = Stack::start().await;
    stack.kill_worker(0);
    let operations = load::updates(stack.store(0), 300).await;
    tokio::time::sleep(PUBLISHER_SETTLES).await;
    let queued = stack.queued_nudges(0).await;
    assert!(
        queued > 1,
        "the store published {queued} nudges for 300 updates; the test needs several"
    );

    stack.start_worker(0).await;
    stack.assert_converged().await;
    // The first nudge runs the sync that drains the backlog; the others
    // were waiting when it started.
    let worker = stack.workers[0].clone();
    let expected = f64::from(queued - 1);
    worker
        .wait_for_metric(
            "sync_messages_total",
            "result=\"coalesced\"",
            expected,
            Duration::from_secs(30),
        )
        .await;

    let coalesced = worker
        .metric("sync_messages_total", "result=\"coalesced\"")
        .await;
    let syncs = worker.metric("sync_runs_total", "").await;
    eprintln!("coalescing: {queued} queued nudges, {coalesced} coalesced, {syncs} syncs");
    assert_eq!(coalesced, expected);
    // Besides that sync, only the scheduler's start-up round may run
    // syncs: one per store whose queue it found empty.
    assert!(syncs <= 3.0, "{syncs} syncs for one backlog");
    assert_eq!(stack.queued_nudges(0).await, 0);
    stack.assert_applied_exactly_once(0, &operations).await;
}
