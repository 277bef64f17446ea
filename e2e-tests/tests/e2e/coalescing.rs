//! Nudges pile up while no worker runs (the store publishes one after
//! nearly every committed change). When a worker starts, one sync drains
//! the backlog and every nudge sent before that sync started is acked as
//! coalesced instead of running a sync of its own.

use std::time::Duration;

use crate::harness::wait::wait_until;
use crate::harness::{Stack, load};

/// The consumer's allowance for publishers' clocks, plus a margin.
const OLDER_THAN_THE_CLOCK_ALLOWANCE: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nudges_sent_before_a_complete_sync_are_acked_without_syncing_again() {
    let mut stack = Stack::start().await;
    stack.kill_worker(0);
    let operations = load::updates(stack.store(0), 300).await;
    tokio::time::sleep(OLDER_THAN_THE_CLOCK_ALLOWANCE).await;
    let queued = stack.queued_nudges(0).await;
    assert!(
        queued > 1,
        "the store published {queued} nudges for 300 updates; the test needs several"
    );

    stack.start_worker(0).await;
    stack.assert_converged().await;
    wait_until(
        "the store's queue to be empty",
        Duration::from_secs(30),
        || async { stack.queued_nudges(0).await == 0 },
    )
    .await;

    let worker = &stack.workers[0];
    let coalesced = worker
        .metric("sync_messages_total", "result=\"coalesced\"")
        .await;
    let syncs = worker.metric("sync_runs_total", "").await;
    eprintln!("coalescing: {queued} queued nudges, {coalesced} coalesced, {syncs} syncs");
    // The first nudge runs the sync that drains the backlog; every other
    // queued one is coalesced. Besides it, only the scheduler's start-up
    // round may run syncs: one per store whose queue it found empty.
    assert_eq!(coalesced, f64::from(queued - 1));
    assert!(syncs <= 3.0, "{syncs} syncs for one backlog");
    stack.assert_applied_exactly_once(0, &operations).await;
}
