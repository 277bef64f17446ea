//! Physical counts: the difference becomes a change of kind `count`, a
//! matching count is recorded with nothing to sync, every count is
//! idempotent and rebuilds from the log.

use serde_json::{Value, json};

use crate::crash::store_command;
use crate::helpers::{LAPTOP, TestApp, VIEWER, assert_error, json_of, send, spawn_app};

async fn post_count(app: &TestApp, sku: &str, body: Value) -> reqwest::Response {
    let path = format!("/v1/local/inventory/{sku}/count");
    send(app.request(reqwest::Method::POST, &path).json(&body)).await
}

#[tokio::test]
async fn a_count_that_differs_becomes_a_pending_change_of_kind_count() {
    let app = spawn_app().await;
    app.update_laptop(json!({ "kind": "sale", "delta": -2 }))
        .await; // 48

    let response = post_count(&app, LAPTOP, json!({ "counted": 45, "reason": "aisle 4" })).await;
    assert_eq!(response.status(), 201);
    let count = json_of(response).await;
    assert_eq!(count["kind"], "count");
    assert_eq!(
        (
            &count["counted"],
            &count["delta"],
            &count["quantity"],
            &count["version"]
        ),
        (&json!(45), &json!(-3), &json!(45), &json!(2)),
        "{count}"
    );
    assert_eq!(count["status"], "pending");

    let stock = app.stock(LAPTOP).await;
    assert_eq!(
        (
            stock["quantity"].as_i64(),
            stock["pending_changes"].as_i64()
        ),
        (Some(45), Some(2))
    );
    assert!(stock["last_counted_at"].is_string(), "{stock}");
    let id = count["operation_id"].as_str().expect("id");
    let status = app.sync_status(id).await;
    assert_eq!(
        (status["status"].as_str(), status["delta"].as_i64()),
        (Some("pending"), Some(-3))
    );
    // The worker pushes it like any change, with its kind.
    let pending = app.worker_get_json("/v1/sync/pending?limit=10").await;
    let pushed = pending["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|change| change["operation_id"] == id)
        .unwrap_or_else(|| panic!("count not pending: {pending}"));
    assert_eq!(
        (pushed["kind"].as_str(), pushed["delta"].as_i64()),
        (Some("count"), Some(-3))
    );
}

#[tokio::test]
async fn a_count_that_matches_is_recorded_and_sends_nothing() {
    let app = spawn_app().await;
    let stock = app.stock(LAPTOP).await;
    assert_eq!(stock["last_counted_at"], Value::Null);

    let count = json_of(post_count(&app, LAPTOP, json!({ "counted": 50 })).await).await;
    assert_eq!(
        (count["delta"].as_i64(), count["quantity"].as_i64()),
        (Some(0), Some(50))
    );
    assert_eq!(
        (count["status"].as_str(), count["version"].as_i64()),
        (Some("recorded"), Some(0))
    );

    let stock = app.stock(LAPTOP).await;
    assert_eq!(
        (
            stock["quantity"].as_i64(),
            stock["pending_changes"].as_i64()
        ),
        (Some(50), Some(0))
    );
    assert!(stock["last_counted_at"].is_string(), "{stock}");
    let pending = app.worker_get_json("/v1/sync/pending?limit=10").await;
    assert_eq!(pending["changes"], json!([]), "nothing to sync");
    let log = app
        .get_json(&format!("/v1/local/events?sku={LAPTOP}"))
        .await;
    let last = log["events"]
        .as_array()
        .and_then(|e| e.last())
        .expect("events");
    assert_eq!(last["event_type"], "StockCounted");
    assert_eq!(last["payload"]["StockCounted"]["counted"], 50);
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains(r#"store_counts_total{result="matched"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_repeated_count_answers_the_first_time_and_another_body_is_a_reuse() {
    let app = spawn_app().await;
    // One count that differs (50 → 41), one that matches (41).
    for counted in [41, 41] {
        let id = uuid::Uuid::now_v7();
        let body = json!({ "counted": counted, "operation_id": id });
        let first = json_of(post_count(&app, LAPTOP, body.clone()).await).await;
        let again = post_count(&app, LAPTOP, body).await;
        assert_eq!(again.status(), 201);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json_of(again).await, first);

        let other = json!({ "counted": counted + 1, "operation_id": id });
        assert_error(
            post_count(&app, LAPTOP, other).await,
            409,
            "operation_id_reused",
        )
        .await;
        // An update cannot take a count's id either, nor a count an update's.
        let update = json!({ "delta": -1, "operation_id": id });
        assert_error(
            app.post_update(LAPTOP, update).await,
            409,
            "operation_id_reused",
        )
        .await;
    }
    let sale = app
        .update_laptop(json!({ "kind": "sale", "delta": -1 }))
        .await;
    let count = json!({ "counted": 3, "operation_id": sale });
    assert_error(
        post_count(&app, LAPTOP, count).await,
        409,
        "operation_id_reused",
    )
    .await;
    assert_eq!(
        app.stock(LAPTOP).await["quantity"],
        40,
        "41 counted, then one sold"
    );
}

#[tokio::test]
async fn bad_counts_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let before = app.db.event_count().await;
    let negative = post_count(&app, LAPTOP, json!({ "counted": -1 })).await;
    let body = assert_error(negative, 422, "validation_failed").await;
    assert_eq!(body["details"]["field"], "counted");
    let stale = post_count(&app, LAPTOP, json!({ "counted": 50, "version": 3 })).await;
    assert_error(stale, 409, "version_conflict").await;
    let unknown = post_count(&app, "ELEC-NOPE-999", json!({ "counted": 1 })).await;
    assert_error(unknown, 404, "sku_not_found").await;
    let missing = post_count(&app, LAPTOP, json!({ "reason": "no figure" })).await;
    assert_error(missing, 422, "validation_failed").await;
    assert_eq!(app.db.event_count().await, before);
}

#[tokio::test]
async fn a_viewer_cannot_count() {
    let app = spawn_app().await;
    let token = app.local_token_for(VIEWER).await;
    let path = format!("/v1/local/inventory/{LAPTOP}/count");
    let request = app.client.post(format!("{}{path}", app.address));
    let response = send(request.bearer_auth(token).json(&json!({ "counted": 3 }))).await;
    assert_error(response, 403, "forbidden").await;
}

#[tokio::test]
async fn counts_rebuild_from_the_log() {
    let app = spawn_app().await;
    for counted in [47, 47, 52] {
        assert_eq!(
            post_count(&app, LAPTOP, json!({ "counted": counted }))
                .await
                .status(),
            201
        );
    }
    sqlx::query("DELETE FROM counts WHERE delta = 0")
        .execute(&app.db.pool)
        .await
        .expect("corrupt counts");

    let verify = |args: &'static [&'static str]| {
        let mut command = store_command(&app.db, args, 0);
        async move { command.status().await.expect("run store-app").success() }
    };
    assert!(
        !verify(&["rebuild-projections", "--verify"]).await,
        "verify sees the lost count"
    );
    assert!(verify(&["rebuild-projections"]).await);
    assert!(verify(&["rebuild-projections", "--verify"]).await);
    let counts: Vec<(i64, i64)> =
        sqlx::query_as("SELECT counted, delta FROM counts ORDER BY counted_at")
            .fetch_all(&app.db.pool)
            .await
            .expect("counts");
    assert_eq!(counts, vec![(47, -3), (47, 0), (52, 5)]);
    let stock = app.stock(LAPTOP).await;
    assert_eq!(stock["quantity"], 52);
    assert!(stock["last_counted_at"].is_string());
}
