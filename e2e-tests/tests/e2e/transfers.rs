//! Transfers end to end: head office asks STORE-001 to send units to
//! STORE-002; both stores learn of it, the source ships, the destination
//! receives, and central, both stores and `in_transit` agree at every step.
//! A cancelled transfer cannot ship; a store ships while central is down.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use e2e_tests::harness::clients::MetricsApi;
use e2e_tests::harness::wait::wait_for;
use e2e_tests::harness::{SKU, Stack};

const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// Head office's request; the new transfer's id.
async fn request(stack: &Stack, quantity: i64) -> String {
    let (from, to) = (&stack.store(0).id, &stack.store(1).id);
    let (status, body) = stack
        .central
        .request_transfer(from, to, SKU, quantity)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "requested");
    body["transfer_id"]
        .as_str()
        .expect("transfer_id")
        .to_owned()
}

/// Waits until central's copy of the transfer is in `status`; the copy.
async fn central_reaches(stack: &Stack, id: &str, status: &str) -> Value {
    let what = format!("transfer {id} {status} at central");
    wait_for(&what, STEP_TIMEOUT, || async {
        let transfer = stack.central.transfer(id).await;
        (transfer["status"] == status).then_some(transfer)
    })
    .await
    .0
}

async fn in_transit(stack: &Stack) -> i64 {
    stack.central.availability(SKU).await["in_transit"]
        .as_i64()
        .expect("in_transit")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_from_store_one_to_store_two_completes_with_everyone_agreeing() {
    let stack = Stack::start().await;
    let (source, destination) = (stack.store(0), stack.store(1));
    let before = (
        source.stock(SKU).await.quantity,
        destination.stock(SKU).await.quantity,
    );
    let chain_before = stack.central.availability(SKU).await["total_quantity"].clone();

    let requested = Instant::now();
    let id = request(&stack, 5).await;
    source
        .transfer_reaches(&id, "requested", STEP_TIMEOUT)
        .await;
    destination
        .transfer_reaches(&id, "requested", STEP_TIMEOUT)
        .await;
    eprintln!(
        "both stores learned of the transfer in {:?}",
        requested.elapsed()
    );

    let (status, shipped) = source.ship(&id).await;
    assert_eq!(status, StatusCode::CREATED, "{shipped}");
    assert_eq!(
        (shipped["kind"].as_str(), shipped["delta"].as_i64()),
        (Some("transfer_out"), Some(-5))
    );
    let (again, repeat) = source.ship(&id).await;
    assert_eq!(
        again,
        StatusCode::CREATED,
        "shipping twice is one shipment: {repeat}"
    );
    assert_eq!(repeat["operation_id"], shipped["operation_id"]);

    let at_central = central_reaches(&stack, &id, "shipped").await;
    assert_eq!(at_central["shipped"], 5);
    assert_eq!(in_transit(&stack).await, 5, "shipped, not yet received");
    destination
        .transfer_reaches(&id, "shipped", STEP_TIMEOUT)
        .await;
    assert_eq!(source.stock(SKU).await.quantity, before.0 - 5);

    let (status, received) = destination.receive(&id, 5).await;
    assert_eq!(status, StatusCode::CREATED, "{received}");
    assert_eq!(received["kind"], "transfer_in");
    let done = central_reaches(&stack, &id, "received").await;
    assert_eq!(
        (done["received"].as_i64(), done["discrepancy"].as_i64()),
        (Some(5), Some(0))
    );
    assert_eq!(in_transit(&stack).await, 0);
    source.transfer_reaches(&id, "received", STEP_TIMEOUT).await;
    eprintln!(
        "transfer requested to received in {:?}",
        requested.elapsed()
    );

    stack.assert_converged().await;
    assert_eq!(source.stock(SKU).await.quantity, before.0 - 5);
    assert_eq!(destination.stock(SKU).await.quantity, before.1 + 5);
    let chain = stack.central.availability(SKU).await;
    assert_eq!(
        chain["total_quantity"], chain_before,
        "a transfer conserves units"
    );
    let central = MetricsApi::new(stack.central.url.clone(), reqwest::Client::new());
    for step in ["requested", "shipped", "received"] {
        let label = format!("step=\"{step}\"");
        let steps = central.metric("central_transfer_steps_total", &label).await;
        assert_eq!(steps, 1.0, "{step}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_receipt_is_the_discrepancy_and_a_cancelled_transfer_cannot_ship() {
    let stack = Stack::start().await;
    let (source, destination) = (stack.store(0), stack.store(1));

    let short = request(&stack, 4).await;
    source
        .transfer_reaches(&short, "requested", STEP_TIMEOUT)
        .await;
    assert_eq!(source.ship(&short).await.0, StatusCode::CREATED);
    destination
        .transfer_reaches(&short, "shipped", STEP_TIMEOUT)
        .await;
    assert_eq!(destination.receive(&short, 3).await.0, StatusCode::CREATED);
    let (status, body) = destination.receive(&short, 4).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "another figure is a reuse: {body}"
    );
    let done = central_reaches(&stack, &short, "received").await;
    assert_eq!(done["discrepancy"], 1, "one unit lost on the way");
    assert_eq!(in_transit(&stack).await, 0);

    let cancelled = request(&stack, 2).await;
    source
        .transfer_reaches(&cancelled, "requested", STEP_TIMEOUT)
        .await;
    let (status, body) = stack.central.cancel_transfer(&cancelled).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "cancelled");
    source
        .transfer_reaches(&cancelled, "cancelled", STEP_TIMEOUT)
        .await;
    let (status, body) = source.ship(&cancelled).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "transfer_not_ready");
    let (status, body) = stack.central.cancel_transfer(&short).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a received transfer cannot be cancelled: {body}"
    );
    stack.assert_converged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_ships_while_central_is_down_and_it_syncs_once_central_is_back() {
    let mut stack = Stack::start().await;
    let id = request(&stack, 3).await;
    stack
        .store(0)
        .transfer_reaches(&id, "requested", STEP_TIMEOUT)
        .await;
    stack.stop_central();

    let (status, body) = stack.store(0).ship(&id).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "shipping needs no central: {body}"
    );
    assert_eq!(body["local_status"], "shipping");

    stack.start_central().await;
    central_reaches(&stack, &id, "shipped").await;
    stack
        .store(1)
        .transfer_reaches(&id, "shipped", Duration::from_secs(30))
        .await;
    stack.assert_converged().await;
}
