//! Physical counts end to end: a count made while central is down syncs
//! once it is back, and a count racing a head-office change on the same SKU
//! leaves both applied and every figure agreeing.

use std::time::Duration;

use reqwest::StatusCode;

use e2e_tests::harness::{SKU, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_made_with_central_down_converges_once_it_is_back() {
    let mut stack = Stack::start().await;
    let before = stack.store(0).stock(SKU).await;
    stack.stop_central();

    let store = stack.store(0);
    let count = store.count(SKU, before.quantity - 5).await;
    assert_eq!((count.delta, count.status.as_str()), (-5, "pending"));
    let matched = store.count(SKU, before.quantity - 5).await;
    assert_eq!((matched.delta, matched.status.as_str()), (0, "recorded"));

    stack.start_central().await;
    let store = stack.store(0);
    let status = store
        .decided(count.operation_id, Duration::from_secs(30))
        .await;
    assert_eq!(status.status, "synced", "{status:?}");
    let central = stack.central.item(&store.id, SKU).await;
    assert_eq!(central.quantity, before.quantity - 5);
    let applied = stack
        .central
        .applied_event(&store.id, count.operation_id)
        .await
        .expect("the count's change is in central's log");
    assert_eq!(applied["payload"]["ChangeApplied"]["kind"], "count");
    assert_eq!(applied["payload"]["ChangeApplied"]["delta"], -5);
    assert!(store.stock(SKU).await.last_counted_at.is_some());
    stack
        .assert_applied_exactly_once(0, &[count.operation_id])
        .await;
    stack.assert_converged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_racing_a_head_office_change_applies_both() {
    let stack = Stack::start().await;
    let store = stack.store(0);
    let before = store.stock(SKU).await;

    let ((adjusted, body), count) = tokio::join!(
        stack.central.adjust(&store.id, SKU, -3, None),
        store.count(SKU, before.quantity + 4),
    );
    assert_eq!(adjusted, StatusCode::OK, "{body}");
    // The store decided the count's delta against what it had: +4 if the
    // head-office change had not reached it yet, +7 if it had.
    assert!([4, 7].contains(&count.delta), "count delta {}", count.delta);
    let status = store
        .decided(count.operation_id, Duration::from_secs(30))
        .await;
    assert_eq!(status.status, "synced", "a count is not compare-and-set");
    stack.assert_converged().await;

    let expected = before.quantity - 3 + count.delta;
    let central = stack.central.item(&store.id, SKU).await;
    let at_store = store.stock(SKU).await;
    assert_eq!(
        central.quantity, expected,
        "both changes applied at central"
    );
    assert_eq!(at_store.quantity, expected, "and at the store");
    eprintln!(
        "count raced a head-office change: count delta {}, quantity {} -> {expected}",
        count.delta, before.quantity
    );
}
