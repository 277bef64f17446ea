//! SIGKILL the worker in the middle of a 5,000-update load and start it
//! again: every operation is applied at central exactly once.

use std::time::{Duration, Instant};

use e2e_tests::harness::Stack;
use e2e_tests::harness::load;
use e2e_tests::harness::wait::wait_until;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_load_loses_nothing_and_applies_nothing_twice() {
    let mut stack = Stack::start().await;
    let started = Instant::now();
    let load = load::spawn_updates(stack.store(0), 5000);

    stack.workers[0]
        .wait_for_applied(1000.0, Duration::from_secs(120))
        .await;
    stack.kill_worker(0);
    let store = stack.store(0).clone();
    wait_until(
        "changes to pile up while the worker is down",
        Duration::from_secs(60),
        || async {
            let pending: i32 = store
                .inventory()
                .await
                .iter()
                .map(|s| s.pending_changes)
                .sum();
            pending >= 300 || load.is_finished()
        },
    )
    .await;
    stack.start_worker(0).await;

    let operations = load.await.expect("load task");
    assert_eq!(operations.len(), 5000);
    stack.assert_converged().await;
    eprintln!(
        "5,000 updates with a worker SIGKILL, until converged: {:?}",
        started.elapsed()
    );
    stack.assert_applied_exactly_once(0, &operations).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stopped_with_sigterm_mid_load_exits_promptly_and_loses_nothing() {
    let mut stack = Stack::start().await;
    let load = load::spawn_updates(stack.store(0), 3000);
    stack.workers[0]
        .wait_for_applied(500.0, Duration::from_secs(120))
        .await;

    let (took, status) = stack
        .terminate_worker(0, Duration::from_secs(20))
        .expect("the worker exits after SIGTERM");
    eprintln!("worker exit after SIGTERM under load: {took:?} ({status})");
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_secs(7), "took {took:?}");
    stack.start_worker(0).await;

    let operations = load.await.expect("load task");
    stack.assert_converged().await;
    stack.assert_applied_exactly_once(0, &operations).await;
}
