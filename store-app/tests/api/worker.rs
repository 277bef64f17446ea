//! The worker's endpoints: token checks, pending changes, outcomes (with the
//! rejection cascade), transient failures and central's changes.

use reqwest::Method;
use serde_json::{Value, json};
use service_infra::auth::Role;
use uuid::Uuid;

use crate::helpers::{LAPTOP, assert_error, send, spawn_app};

#[tokio::test]
async fn worker_endpoints_need_a_sync_worker_token() {
    let app = spawn_app().await;
    let pending = async |token: Option<String>| {
        let mut request = app.request(Method::GET, "/v1/sync/pending");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        send(request).await
    };

    let none = pending(None).await;
    let garbage = pending(Some("not.a.token".into())).await;
    let admin = pending(Some(app.key.token(Role::Admin))).await;

    assert_error(none, 401, "unauthorized").await;
    assert_error(garbage, 401, "unauthorized").await;
    assert_error(admin, 403, "forbidden").await;
}

#[tokio::test]
async fn pending_changes_come_in_log_order() {
    let app = spawn_app().await;
    let first = app.update_laptop(json!({ "delta": -1 })).await;
    let second = app.update_laptop(json!({ "delta": 2, "version": 1 })).await;

    let page: Value = app.worker_get_json("/v1/sync/pending?limit=10").await;

    let changes = page["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["operation_id"], first.as_str());
    assert_eq!(changes[1]["operation_id"], second.as_str());
    assert_eq!(changes[1]["expected_version"], 1);
    assert_eq!(changes[0]["expected_version"], Value::Null);
}

#[tokio::test]
async fn an_applied_outcome_confirms_the_change_once() {
    let app = spawn_app().await;
    let id = app.update_laptop(json!({ "delta": -5 })).await;

    app.record_outcome(&id, "applied", 1, 45).await;
    let repeat = app
        .worker_post_json("/v1/sync/outcomes", json!({ "outcomes": [{ "operation_id": id, "sku": LAPTOP, "outcome": "applied", "version": 1, "quantity": 45 }] }))
        .await;

    assert_eq!(repeat["recorded"], 0, "a repeated outcome writes nothing");
    let synced = app.sync_status(&id).await;
    assert_eq!(
        (
            synced["status"].as_str(),
            synced["central_version"].as_i64()
        ),
        (Some("synced"), Some(1))
    );
    let stock = app.stock(LAPTOP).await;
    assert_eq!(
        (
            stock["confirmed_quantity"].as_i64(),
            stock["confirmed_version"].as_i64()
        ),
        (Some(45), Some(1))
    );
    assert_eq!(stock["pending_changes"], 0);
    assert!(stock["last_synced_at"].is_string());
}

#[tokio::test]
async fn a_rejection_gives_the_delta_back_and_rejects_dependent_changes() {
    let app = spawn_app().await;
    let first = app
        .update_laptop(json!({ "delta": -5, "version": 0 }))
        .await;
    let dependent = app
        .update_laptop(json!({ "delta": -1, "version": 1 }))
        .await;
    let unconditional = app.update_laptop(json!({ "delta": -2 })).await;

    app.record_outcome(&first, "version_conflict", 1, 40).await;

    let rejected = app.sync_status(&first).await;
    assert_eq!(
        (rejected["status"].as_str(), rejected["ok"].as_bool()),
        (Some("rejected"), Some(false))
    );
    assert_eq!(rejected["reason"], "version_conflict");
    let cascaded = app.sync_status(&dependent).await;
    assert_eq!(cascaded["status"], "rejected");
    assert_eq!(cascaded["because_of"], first.as_str());
    assert_eq!(app.sync_status(&unconditional).await["status"], "pending");
    let stock = app.stock(LAPTOP).await;
    assert_eq!(stock["quantity"], 38, "central's 40 plus the pending -2");
    assert_eq!(stock["version"], 2);
}

#[tokio::test]
async fn a_transient_failure_marks_the_change_retrying_never_rejected() {
    let app = spawn_app().await;
    let id = app.update_laptop(json!({ "delta": -1 })).await;

    let response = app
        .worker_post("/v1/sync/failures", json!({ "operation_ids": [id], "error": "central unreachable", "next_attempt_at": "2030-01-01T00:00:00Z" }))
        .await;

    assert_eq!(response.status(), 200);
    let retrying = app.sync_status(&id).await;
    assert_eq!(retrying["status"], "retrying");
    assert_eq!(retrying["ok"], false, "ok only once central applied it");
    assert_eq!(retrying["attempts"], 1);
    assert_eq!(retrying["last_error"], "central unreachable");

    app.worker_post(
        "/v1/sync/failures",
        json!({ "operation_ids": [id, id], "error": "timeout" }),
    )
    .await;
    let again = app.sync_status(&id).await;
    assert_eq!(
        (again["attempts"].clone(), again["last_error"].clone()),
        (json!(2), json!("timeout")),
        "one attempt per call, even for an id listed twice"
    );
}

#[tokio::test]
async fn central_changes_apply_once_and_move_the_checkpoint() {
    let app = spawn_app().await;
    let body = json!({
        "changes": [{ "operation_id": Uuid::new_v4(), "sku": LAPTOP, "delta": -10, "version": 1, "quantity": 40 }],
        "checkpoint": "1234-7",
    });

    let first = app
        .worker_post_json("/v1/sync/central-changes", body.clone())
        .await;
    let repeat = app.worker_post_json("/v1/sync/central-changes", body).await;

    assert_eq!(
        (first["recorded"].as_i64(), repeat["recorded"].as_i64()),
        (Some(1), Some(0))
    );
    let stock = app.stock(LAPTOP).await;
    assert_eq!(
        (
            stock["quantity"].as_i64(),
            stock["confirmed_version"].as_i64()
        ),
        (Some(40), Some(1))
    );
    let checkpoint: Value = app.worker_get_json("/v1/sync/checkpoint").await;
    assert_eq!(checkpoint["cursor"], "1234-7");

    let nothing_new = app
        .worker_post(
            "/v1/sync/central-changes",
            json!({ "changes": [], "checkpoint": "1300-9" }),
        )
        .await;
    assert_eq!(nothing_new.status(), 200);
    let moved: Value = app.worker_get_json("/v1/sync/checkpoint").await;
    assert_eq!(
        moved["cursor"], "1300-9",
        "a page without changes still moves the checkpoint"
    );
}

#[tokio::test]
async fn bad_worker_input_is_422_and_writes_nothing() {
    let app = spawn_app().await;
    let before = app.db.event_count().await;
    let id = Uuid::new_v4();

    let outcome = app.worker_post("/v1/sync/outcomes", json!({ "outcomes": [{ "operation_id": id, "sku": LAPTOP, "outcome": "version_ahead", "version": 1, "quantity": 1 }] })).await;
    let checkpoint = app
        .worker_post(
            "/v1/sync/central-changes",
            json!({ "changes": [], "checkpoint": "nope" }),
        )
        .await;

    assert_error(outcome, 422, "validation_failed").await;
    assert_error(checkpoint, 422, "validation_failed").await;
    assert_eq!(app.db.event_count().await, before);
}
