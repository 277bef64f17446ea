//! Who changed stock, and how: every local change names the store client
//! whose token made it and its kind, at the store and at central, and a
//! head-office change names its admin; a store cut off from central keeps
//! issuing and accepting its own tokens.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use e2e_tests::harness::{SKU, Service, Stack};

/// The `operation_id` of an answer.
fn operation_id(answer: &Value) -> Uuid {
    let id = answer["operation_id"].as_str().expect("an operation_id");
    id.parse().expect("a UUID")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_names_who_made_it_at_the_store_and_at_central() {
    let stack = Stack::start().await;
    let store = stack.store(0);

    let (status, sale) = store
        .try_change(&json!({ "kind": "sale", "delta": -1 }), SKU)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sale}");
    let sale_id: Uuid = operation_id(&sale);
    let update = store.update(SKU, -1, None).await;
    let status = store
        .decided(update.operation_id, Duration::from_secs(20))
        .await;
    assert_eq!(status.status, "synced");
    let sold = stack.central.applied_event(&store.id, sale_id).await;
    let sold = sold.expect("central applied the sale");
    assert_eq!(sold["payload"]["ChangeApplied"]["kind"], "sale", "{sold}");

    let log: Value = store
        .get(&format!("/v1/local/events?sku={SKU}&limit=1000"))
        .await;
    let adjusted = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|event| {
            event["payload"]["StockAdjusted"]["operation_id"] == update.operation_id.to_string()
        })
        .unwrap_or_else(|| panic!("no StockAdjusted for the update in {log}"));
    assert_eq!(
        adjusted["payload"]["StockAdjusted"]["client"],
        store.manager_id()
    );

    let applied = stack
        .central
        .applied_event(&store.id, update.operation_id)
        .await
        .expect("central applied the change");
    assert_eq!(
        applied["metadata"]["store_client"],
        store.manager_id(),
        "{applied}"
    );

    let (status, body) = stack.central.adjust(&store.id, SKU, 2, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let adjust_id: Uuid = operation_id(&body);
    let adjusted = stack
        .central
        .applied_event(&store.id, adjust_id)
        .await
        .expect("the adjust is in central's log");
    let (admin, _) = stack.central.admin_credentials();
    assert_eq!(adjusted["metadata"]["admin_client"], admin, "{adjusted}");
    assert_eq!(adjusted["metadata"]["reason"], "e2e");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_cut_off_from_central_issues_and_accepts_its_own_tokens() {
    let mut stack = Stack::start().await;
    stack.kill(Service::Central);
    let store = stack.store(0).clone();

    let (status, body) = store.request_token().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().expect("access_token");
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/local/inventory/{SKU}/update", store.url))
        .bearer_auth(token)
        .json(&json!({ "delta": -1 }))
        .send()
        .await
        .expect("update");
    assert_eq!(answer.status(), StatusCode::CREATED);
    let accepted: Value = answer.json().await.expect("json");
    assert_eq!(accepted["status"], "pending");

    stack.restart(Service::Central).await;
    let id: Uuid = operation_id(&accepted);
    let status = store.decided(id, Duration::from_secs(30)).await;
    assert_eq!(status.status, "synced");
    stack.assert_converged().await;
}
