//! A chain of compare-and-set changes made while the first is pending:
//! when the first is rejected the rest are rejected too, even where a
//! head-office change brought central to exactly the version they expected
//! (docs/design.md, "Store side").

use std::time::Duration;

use reqwest::StatusCode;

use e2e_tests::harness::wait::wait_until;
use e2e_tests::harness::{SKU, Stack, StackOptions};

async fn chain_is_rejected_after_its_first(options: StackOptions) {
    let mut stack = Stack::start_with(options).await;
    let store_id = stack.store(0).id.clone();
    let before = stack.store(0).stock(SKU).await;
    let v0 = before.version;
    stack.kill_worker(0);

    let first = stack.store(0).update(SKU, -1, Some(v0)).await;
    let second = stack.store(0).update(SKU, -1, Some(v0 + 1)).await;
    let third = stack.store(0).update(SKU, -1, Some(v0 + 2)).await;
    // Head office takes the first change's place: central reaches v0 + 1,
    // the version the second change expects.
    let (status, body) = stack.central.adjust(&store_id, SKU, -5, Some(v0)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    stack.start_worker(0).await;

    let store = stack.store(0);
    let ids = [first.operation_id, second.operation_id, third.operation_id];
    wait_until(
        "every change of the chain to be decided",
        Duration::from_secs(10),
        || async {
            for id in ids {
                let status = store.status(id).await.status;
                if status == "pending" || status == "retrying" {
                    return false;
                }
            }
            true
        },
    )
    .await;
    for id in ids {
        let status = store.status(id).await;
        assert_eq!(status.status, "rejected", "{id}: {status:?}");
    }
    stack.assert_converged().await;
    let central = stack.central.item(&store_id, SKU).await;
    assert_eq!(
        (central.quantity, central.version),
        (before.quantity - 5, v0 + 1)
    );
    assert_eq!(
        stack.store(0).stock(SKU).await.quantity,
        before.quantity - 5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_pushed_in_one_batch_is_rejected_after_its_first() {
    chain_is_rejected_after_its_first(StackOptions::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_pushed_one_change_per_batch_is_rejected_after_its_first() {
    chain_is_rejected_after_its_first(StackOptions {
        worker_env: vec![("BATCH_SIZE".into(), "1".into())],
        ..StackOptions::default()
    })
    .await;
}
