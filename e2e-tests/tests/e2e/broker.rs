//! The broker fails in the middle of a load: it drops every connection
//! (`rabbitmqctl close_all_connections`, which lapin's recovery handles), or
//! it is gone for seconds and comes back without its queues (the stack's
//! vhost deleted and created again). The worker, the stores and central
//! recover by themselves and nothing is lost.

use std::time::{Duration, Instant};

use crate::harness::wait::wait_until;
use crate::harness::{Stack, StackOptions, load};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_recovers_when_the_broker_drops_every_connection() {
    let stack = Stack::start_with(StackOptions {
        own_vhost: true,
        ..StackOptions::default()
    })
    .await;
    let started = Instant::now();
    let load = tokio::spawn({
        let store = stack.store(0).clone();
        async move { load::updates(&store, 2000).await }
    });
    let worker = stack.workers[0].clone();
    wait_until(
        "300 changes applied at central",
        Duration::from_secs(60),
        || async {
            worker
                .metric("sync_changes_total", "outcome=\"applied\"")
                .await
                >= 300.0
        },
    )
    .await;

    stack.close_broker_connections();

    let operations = load.await.expect("load task");
    let after_load = stack.store(0).update("ELEC-PHONE-002", 1, None).await;
    stack.assert_converged().await;
    eprintln!(
        "2,000 updates with every broker connection dropped, until converged: {:?}",
        started.elapsed()
    );
    stack.assert_applied_exactly_once(0, &operations).await;
    stack
        .assert_applied_exactly_once(0, &[after_load.operation_id])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_when_the_broker_is_gone_for_seconds_and_comes_back_empty() {
    let stack = Stack::start_with(StackOptions {
        own_vhost: true,
        ..StackOptions::default()
    })
    .await;
    let started = Instant::now();
    let load = tokio::spawn({
        let store = stack.store(0).clone();
        async move { load::updates(&store, 2000).await }
    });
    let worker = stack.workers[0].clone();
    wait_until(
        "300 changes applied at central",
        Duration::from_secs(60),
        || async {
            worker
                .metric("sync_changes_total", "outcome=\"applied\"")
                .await
                >= 300.0
        },
    )
    .await;

    stack.lose_the_broker_for(Duration::from_secs(5)).await;

    let operations = load.await.expect("load task");
    let after_outage = stack.store(0).update("ELEC-PHONE-002", 1, None).await;
    stack.assert_converged().await;
    eprintln!(
        "2,000 updates with a 5 s broker outage that lost every queue, until converged: {:?}",
        started.elapsed()
    );
    stack.assert_applied_exactly_once(0, &operations).await;
    stack
        .assert_applied_exactly_once(0, &[after_outage.operation_id])
        .await;
}
