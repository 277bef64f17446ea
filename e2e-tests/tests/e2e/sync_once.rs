//! `sync-worker sync-once --store ID`: one sync of one store, without the
//! broker, with its report on standard output.

use serde_json::Value;

use e2e_tests::harness::{SKU, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_once_pushes_a_store_s_changes_and_prints_its_report() {
    let mut stack = Stack::start().await;
    stack.kill_worker(0);
    let update = stack.store(0).update(SKU, -1, None).await;

    let (status, stdout) = stack.sync_once(0);

    assert!(status.success(), "{status}");
    // Log lines come first on stdout; the report is the last line.
    let last = stdout.lines().last().expect("output");
    let report: Value = serde_json::from_str(last).expect("a JSON report");
    assert_eq!(report["store_id"], stack.store(0).id.as_str());
    assert_eq!(report["applied"], 1, "{report}");
    assert_eq!(
        stack.store(0).status(update.operation_id).await.status,
        "synced"
    );
    stack.assert_converged().await;
}
