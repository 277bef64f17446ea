//! The conflict inbox: listing the changes that need a person, and
//! reapplying a refused one.

use serde_json::{Value, json};

use crate::helpers::{LAPTOP, assert_error, json_of, spawn_app};

/// A change of -5, compare-and-set at the laptop's current version, that
/// central refused with a version conflict at version 3 and quantity 40.
async fn refused_change(app: &crate::helpers::TestApp) -> String {
    let version = app.stock(LAPTOP).await["version"].clone();
    let id = app
        .update_laptop(json!({ "delta": -5, "version": version }))
        .await;
    app.record_outcome(&id, "version_conflict", 3, 40).await;
    id
}

#[tokio::test]
async fn the_inbox_lists_refused_changes_with_reason_and_central_s_figures() {
    let app = spawn_app().await;
    let refused = refused_change(&app).await;
    let retrying = app.update_laptop(json!({ "delta": -1 })).await;
    app.worker_post(
        "/v1/sync/failures",
        json!({ "operation_ids": [retrying], "error": "central unreachable" }),
    )
    .await;
    app.update_laptop(json!({ "delta": -2 })).await;

    let rejected = app.get_json("/v1/local/changes").await;
    let listed = rejected["changes"].as_array().expect("changes");
    assert_eq!(listed.len(), 1, "{rejected}");
    let change = &listed[0];
    assert_eq!(change["operation_id"], refused.as_str());
    assert_eq!(change["status"], "rejected");
    assert_eq!(change["reason"], "version_conflict");
    assert_eq!(change["delta"], -5);
    assert_eq!(change["expected_version"], 0);
    assert_eq!(
        (
            change["central_version"].clone(),
            change["central_quantity"].clone()
        ),
        (json!(3), json!(40))
    );
    assert_eq!(change["reapplied_as"], Value::Null);
    assert_eq!(rejected["next_cursor"], Value::Null);

    let retrying_page = app.get_json("/v1/local/changes?status=retrying").await;
    let listed = retrying_page["changes"].as_array().expect("changes");
    assert_eq!(listed.len(), 1, "{retrying_page}");
    assert_eq!(listed[0]["operation_id"], retrying.as_str());
    assert_eq!(listed[0]["last_error"], "central unreachable");
}

#[tokio::test]
async fn the_inbox_pages_in_log_order() {
    let app = spawn_app().await;
    let mut refused = Vec::new();
    for _ in 0..3 {
        refused.push(refused_change(&app).await);
    }

    let first = app.get_json("/v1/local/changes?limit=2").await;
    let cursor = first["next_cursor"]
        .as_u64()
        .expect("a full page has a cursor");
    let second = app
        .get_json(&format!("/v1/local/changes?limit=2&cursor={cursor}"))
        .await;

    let ids: Vec<Value> = first["changes"]
        .as_array()
        .into_iter()
        .chain(second["changes"].as_array())
        .flatten()
        .map(|change| change["operation_id"].clone())
        .collect();
    assert_eq!(ids, refused.iter().map(|id| json!(id)).collect::<Vec<_>>());
    assert_eq!(second["next_cursor"], Value::Null);
}

#[tokio::test]
async fn a_bad_inbox_query_is_422() {
    let app = spawn_app().await;
    for query in ["status=synced", "cursor=-1", "limit=0", "limit=501"] {
        let body = assert_error(
            app.get(&format!("/v1/local/changes?{query}")).await,
            422,
            "validation_failed",
        )
        .await;
        assert!(body["details"]["field"].is_string(), "{query}: {body}");
    }
}

#[tokio::test]
async fn reapplying_records_the_same_delta_once_under_a_derived_id() {
    let app = spawn_app().await;
    let refused = refused_change(&app).await;
    let before = app.stock(LAPTOP).await;
    let events_before = app.db.event_count().await;

    let path = format!("/v1/local/changes/{refused}/reapply");
    let first = app
        .request(reqwest::Method::POST, &path)
        .send()
        .await
        .expect("reapply");
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = json_of(first).await;
    let again = app
        .request(reqwest::Method::POST, &path)
        .send()
        .await
        .expect("reapply");
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again = json_of(again).await;

    let new_id = first["operation_id"]
        .as_str()
        .expect("operation id")
        .to_owned();
    assert_ne!(new_id, refused);
    assert_eq!(
        again["operation_id"],
        new_id.as_str(),
        "reapplying twice is one change"
    );
    assert_eq!(first["delta"], -5);
    assert_eq!(first["status"], "pending");
    assert_eq!(
        app.stock(LAPTOP).await["quantity"],
        before["quantity"].as_i64().expect("quantity") - 5
    );
    assert_eq!(app.db.event_count().await, events_before + 1);

    let events = app
        .get_json("/v1/local/events?sku=ELEC-LAPTOP-001&limit=1000")
        .await;
    let last = events["events"]
        .as_array()
        .and_then(|e| e.last())
        .expect("an event");
    assert_eq!(
        last["payload"]["StockAdjusted"]["reapplies"],
        refused.as_str()
    );
    assert_eq!(
        last["payload"]["StockAdjusted"]["expected_version"],
        Value::Null
    );

    let inbox = app.get_json("/v1/local/changes").await;
    assert_eq!(inbox["changes"][0]["reapplied_as"], new_id.as_str());
    let pending = app.worker_get_json("/v1/sync/pending").await;
    assert!(
        pending["changes"]
            .as_array()
            .expect("pending")
            .iter()
            .any(|change| change["operation_id"] == new_id.as_str()),
        "the reapplied change syncs like any other: {pending}"
    );
}

#[tokio::test]
async fn only_a_rejected_change_can_be_reapplied_and_a_refusal_writes_nothing() {
    let app = spawn_app().await;
    let pending = app.update_laptop(json!({ "delta": -1 })).await;
    let events_before = app.db.event_count().await;

    let not_rejected = app
        .request(
            reqwest::Method::POST,
            &format!("/v1/local/changes/{pending}/reapply"),
        )
        .send()
        .await
        .expect("reapply");
    let body = assert_error(not_rejected, 409, "not_rejected").await;
    assert_eq!(body["details"]["status"], "pending");
    let unknown = app
        .request(
            reqwest::Method::POST,
            "/v1/local/changes/0192f1d6-7c1a-7cc0-9a51-3c1fe4a7a001/reapply",
        )
        .send()
        .await
        .expect("reapply");
    assert_error(unknown, 404, "operation_not_found").await;
    assert_eq!(app.db.event_count().await, events_before);
}

#[tokio::test]
async fn a_quarantined_change_leaves_the_pending_list_until_it_is_retried() {
    let app = spawn_app().await;
    let poisoned = app.update_laptop(json!({ "delta": -1 })).await;
    let other = app.update_laptop(json!({ "delta": -2 })).await;

    let set_aside = app
        .worker_post_json(
            "/v1/sync/quarantine",
            json!({ "operation_id": poisoned, "error": "central answered 422" }),
        )
        .await;
    let again = app
        .worker_post_json(
            "/v1/sync/quarantine",
            json!({ "operation_id": poisoned, "error": "central answered 422" }),
        )
        .await;

    assert_eq!(
        (set_aside["recorded"].clone(), again["recorded"].clone()),
        (json!(1), json!(0))
    );
    let status = app.sync_status(&poisoned).await;
    assert_eq!(status["status"], "quarantined");
    assert_eq!(status["last_error"], "central answered 422");
    let pending = app.worker_get_json("/v1/sync/pending").await;
    let ids: Vec<&Value> = pending["changes"]
        .as_array()
        .expect("pending")
        .iter()
        .map(|change| &change["operation_id"])
        .collect();
    assert_eq!(ids, vec![&json!(other)], "the rest flows");
    assert_eq!(
        app.stock(LAPTOP).await["pending_changes"],
        2,
        "still counted"
    );
    let inbox = app.get_json("/v1/local/changes?status=quarantined").await;
    assert_eq!(inbox["changes"][0]["operation_id"], poisoned.as_str());

    let path = format!("/v1/local/changes/{poisoned}/retry");
    let retried = app
        .request(reqwest::Method::POST, &path)
        .send()
        .await
        .expect("retry");
    assert_eq!(retried.status(), 200);
    assert_eq!(json_of(retried).await["status"], "retrying");
    let pending = app.worker_get_json("/v1/sync/pending").await;
    assert_eq!(
        pending["changes"][0]["operation_id"],
        poisoned.as_str(),
        "back in log order"
    );
    let twice = app
        .request(reqwest::Method::POST, &path)
        .send()
        .await
        .expect("retry");
    let body = assert_error(twice, 409, "not_quarantined").await;
    assert_eq!(body["details"]["status"], "pending");
}
