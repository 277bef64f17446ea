//! Two workers and two stores under load: every operation applied once,
//! nothing refused for `version_ahead`, both stores converge — also when
//! the worker holding the stores' queues dies and the other takes over
//! (single active consumer).

use std::time::{Duration, Instant};

use e2e_tests::harness::clients::MetricsApi;
use e2e_tests::harness::{Stack, StackOptions, load};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_and_two_stores_under_load_apply_each_change_once() {
    let mut stack = Stack::start_with(StackOptions {
        workers: 2,
        ..StackOptions::default()
    })
    .await;
    let started = Instant::now();
    let loads = [0, 1].map(|n| load::spawn_updates(stack.store(n), 1500));
    // The first worker started first, so it is the active consumer of both
    // store queues; kill it half-way and the second one must take over.
    stack.workers[0]
        .wait_for_applied(500.0, Duration::from_secs(60))
        .await;
    stack.kill_worker(0);

    let [first_load, second_load] = loads;
    let first_ops = first_load.await.expect("load of the first store");
    let second_ops = second_load.await.expect("load of the second store");
    stack.assert_converged().await;
    eprintln!(
        "2 x 1,500 updates, two workers, one killed half-way, until converged: {:?}",
        started.elapsed()
    );
    stack.assert_applied_exactly_once(0, &first_ops).await;
    stack.assert_applied_exactly_once(1, &second_ops).await;
    let survivor = &stack.workers[1];
    assert!(
        survivor
            .metric("sync_changes_total", "outcome=\"applied\"")
            .await
            > 0.0
    );
    assert_eq!(
        survivor
            .metric("sync_changes_total", "outcome=\"version_ahead\"")
            .await,
        0.0
    );
    for store in &stack.stores {
        let metrics = MetricsApi::new(store.url.clone(), reqwest::Client::new());
        let rejected = metrics
            .metric("store_sync_outcomes_total", "outcome=\"rejected\"")
            .await;
        assert_eq!(rejected, 0.0, "{} rejected changes", store.id);
    }
}
