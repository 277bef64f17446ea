//! A head-office change alone, with no store activity, reaches the store
//! in seconds: central nudges the store's queue (the schedule is an hour),
//! also when an older transaction on central's database hides it from the
//! first reads.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sqlx::{Connection, PgConnection};

use e2e_tests::harness::clients::{Stock, StoreApi};
use e2e_tests::harness::wait::wait_until;
use e2e_tests::harness::{SKU, Stack, StackOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_office_change_reaches_the_store_within_two_seconds() {
    let stack = Stack::start().await;
    let store = stack.store(0);

    let (before, elapsed) =
        head_office_change_reaches(&stack, store, -4, "the head-office change at the store").await;
    eprintln!("propagation central -> store: {elapsed:?}");

    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    let after = store.stock(SKU).await;
    assert_eq!(after.quantity, before.quantity - 4);
    stack.assert_converged().await;
}

/// Central's log reader waits 2 s for older transactions, then settles for
/// what is visible. The worker must count such a read as incomplete and
/// retry: the nudge of the change was the only one, and the next scheduled
/// sync is an hour away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_hidden_by_an_older_transaction_arrives_once_that_transaction_ends() {
    let stack = Stack::start().await;
    let store = stack.store(0);
    let before = store.stock(SKU).await;

    let mut holder = PgConnection::connect(&stack.database_urls()[0])
        .await
        .expect("connect to central's database");
    let mut older = holder.begin().await.expect("begin");
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *older)
        .await
        .expect("take a transaction id");
    let (status, body) = stack.central.adjust(&store.id, SKU, -3, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    stack.workers[0]
        .wait_for_metric(
            "sync_runs_total",
            "outcome=\"incomplete\"",
            1.0,
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(
        store.stock(SKU).await.quantity,
        before.quantity,
        "the change cannot arrive while the older transaction runs"
    );

    older.rollback().await.expect("rollback");
    let ended = Instant::now();
    wait_until(
        "the head-office change at the store",
        Duration::from_secs(15),
        || async { store.stock(SKU).await.quantity == before.quantity - 3 },
    )
    .await;
    eprintln!(
        "hidden head-office change reached the store {:?} after the older transaction ended",
        ended.elapsed()
    );
    stack.assert_converged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_nudges_are_lost_the_schedule_brings_a_head_office_change() {
    let stack = Stack::start_with(StackOptions {
        worker_env: vec![("SYNC_INTERVAL".into(), "2s".into())],
        lose_central_nudges: true,
        ..StackOptions::default()
    })
    .await;
    let store = stack.store(1);

    let (_, elapsed) =
        head_office_change_reaches(&stack, store, 3, "the scheduled sync to bring the change")
            .await;
    eprintln!("head-office change through the 2 s schedule: {elapsed:?}");

    // One interval, its jitter (at most a tenth) and the sync itself.
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
    stack.assert_converged().await;
}

/// Head office changes `store`'s SKU by `delta`: the store's stock before,
/// and the time until the store has confirmed the change (waiting for
/// `what`, at most 10 s).
async fn head_office_change_reaches(
    stack: &Stack,
    store: &StoreApi,
    delta: i64,
    what: &str,
) -> (Stock, Duration) {
    let before = store.stock(SKU).await;
    let sent = Instant::now();
    let (status, body) = stack.central.adjust(&store.id, SKU, delta, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    wait_until(what, Duration::from_secs(10), || async {
        store.stock(SKU).await.confirmed_version == before.confirmed_version + 1
    })
    .await;
    (before, sent.elapsed())
}
