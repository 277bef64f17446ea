//! Tokens that live a few seconds: sync keeps working across many expiries
//! and the worker asks for a new token only when it needs one.

use std::time::{Duration, Instant};

use e2e_tests::harness::wait::wait_until;
use e2e_tests::harness::{SKUS, Stack, StackOptions};

const TTL: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_keeps_working_across_token_expiries_with_few_token_fetches() {
    let stack = Stack::start_with(StackOptions {
        token_ttl: Some(format!("{}s", TTL.as_secs())),
        ..StackOptions::default()
    })
    .await;
    let worker = &stack.workers[0];
    let fetches_before = worker.metric("token_fetches_total", "").await;
    let started = Instant::now();
    let store = stack.store(0);

    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    let mut n = 0;
    while started.elapsed() < 4 * TTL {
        ticker.tick().await;
        let update = store.update(SKUS[n % SKUS.len()], 1, None).await;
        n += 1;
        wait_until(
            "the change to be synced",
            Duration::from_secs(5),
            || async { store.status(update.operation_id).await.status == "synced" },
        )
        .await;
    }
    let elapsed = started.elapsed();
    let fetches = worker.metric("token_fetches_total", "").await - fetches_before;
    eprintln!("{n} changes synced over {elapsed:?} with {TTL:?} tokens: {fetches} token fetches");

    // A token is replaced at 90% of its life: one fetch per 2.7 s at most,
    // plus one for a 401 race at an expiry.
    let needed = elapsed.as_secs_f64() / (TTL.as_secs_f64() * 0.9);
    assert!(
        fetches >= 3.0,
        "only {fetches} fetches: tokens were not renewed"
    );
    assert!(
        fetches <= needed.ceil() + 2.0,
        "{fetches} fetches for {needed:.1} token lifetimes"
    );
    stack.assert_converged().await;
}
