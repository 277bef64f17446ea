//! A compare-and-set change made on a version central has moved past is
//! rejected, its delta given back, and head office's change reaches the
//! store; the same change without a version is applied.
//!
//! The worker is stopped while the two changes are made, so the store
//! cannot have heard of head office's change when it accepts its own.

use std::time::Duration;

use reqwest::StatusCode;

use e2e_tests::harness::clients::Stock;
use e2e_tests::harness::{SKU, Stack};

/// A fresh stack with its worker stopped, in which head office then took 3
/// off store 0's SKU at the version the store shows: the store cannot have
/// heard of it yet. The stack, the store's id and its stock before.
async fn head_office_moves_first() -> (Stack, String, Stock) {
    let mut stack = Stack::start().await;
    let store_id = stack.store(0).id.clone();
    let before = stack.store(0).stock(SKU).await;
    stack.kill_worker(0);
    let (status, body) = stack
        .central
        .adjust(&store_id, SKU, -3, Some(before.version))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (stack, store_id, before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_a_stale_version_is_rejected_and_the_store_takes_central_s_figures() {
    let (mut stack, store_id, before) = head_office_moves_first().await;
    let update = stack.store(0).update(SKU, -2, Some(before.version)).await;
    assert_eq!(update.quantity, before.quantity - 2);
    stack.start_worker(0).await;

    let status = stack
        .store(0)
        .decided(update.operation_id, Duration::from_secs(10))
        .await;
    assert_eq!(status.status, "rejected");
    assert_eq!(status.reason.as_deref(), Some("version_conflict"));
    assert!(!status.ok);
    stack.assert_converged().await;
    let after = stack.store(0).stock(SKU).await;
    let central = stack.central.item(&store_id, SKU).await;
    assert_eq!(
        after.quantity,
        before.quantity - 3,
        "the delta is given back, head office's applied"
    );
    assert_eq!(
        (after.confirmed_quantity, after.confirmed_version),
        (central.quantity, central.version)
    );
    assert_eq!(central.version, before.version + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_change_without_a_version_is_applied_after_head_office_s() {
    let (mut stack, store_id, before) = head_office_moves_first().await;
    let update = stack.store(0).update(SKU, -2, None).await;
    stack.start_worker(0).await;

    let status = stack
        .store(0)
        .decided(update.operation_id, Duration::from_secs(10))
        .await;
    assert_eq!(status.status, "synced", "{status:?}");
    stack.assert_converged().await;
    let central = stack.central.item(&store_id, SKU).await;
    assert_eq!(
        (central.quantity, central.version),
        (before.quantity - 5, before.version + 2)
    );
    assert_eq!(
        stack.store(0).stock(SKU).await.quantity,
        before.quantity - 5
    );
}
