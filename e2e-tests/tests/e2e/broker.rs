//! The broker fails in the middle of a load: it drops every connection
//! (`rabbitmqctl close_all_connections`, which lapin's recovery handles), or
//! it is gone for seconds and comes back without its queues (the stack's
//! vhost deleted and created again). The worker, the stores and central
//! recover by themselves and nothing is lost.

use std::time::{Duration, Instant};

use e2e_tests::harness::{Stack, StackOptions, load};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_recovers_when_the_broker_drops_every_connection() {
    survives_under_load("every broker connection dropped", async |stack| {
        stack.close_broker_connections();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_when_the_broker_is_gone_for_seconds_and_comes_back_empty() {
    survives_under_load("a 5 s broker outage that lost every queue", async |stack| {
        stack.lose_the_broker_for(Duration::from_secs(5)).await
    })
    .await;
}

/// Loads store 0 with 2,000 updates, runs `failure` once 300 of them are
/// applied at central, then checks that the stack converges with every
/// update applied exactly once, including one made after the failure.
async fn survives_under_load(what: &str, failure: impl AsyncFnOnce(&Stack)) {
    let stack = Stack::start_with(StackOptions {
        own_vhost: true,
        ..StackOptions::default()
    })
    .await;
    let started = Instant::now();
    let load = load::spawn_updates(stack.store(0), 2000);
    stack.workers[0]
        .wait_for_applied(300.0, Duration::from_secs(60))
        .await;

    failure(&stack).await;

    let operations = load.await.expect("load task");
    let after_failure = stack.store(0).update("ELEC-PHONE-002", 1, None).await;
    stack.assert_converged().await;
    eprintln!(
        "2,000 updates with {what}, until converged: {:?}",
        started.elapsed()
    );
    stack.assert_applied_exactly_once(0, &operations).await;
    stack
        .assert_applied_exactly_once(0, &[after_failure.operation_id])
        .await;
}
