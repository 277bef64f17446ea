//! Transfers at central: head office's request, cancel and reads; a store's
//! step checked against its transfer; the stores' transfer feed; rebuild.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    CAMERA, CAMERA_QUANTITY, STORE_1, STORE_2, TestApp, TestClient, assert_refused, change, op,
    spawn_app,
};

fn order(quantity: i64) -> Value {
    json!({ "from_store": STORE_1, "to_store": STORE_2, "sku": CAMERA, "quantity": quantity })
}

async fn request(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    app.post_as(TestClient::Admin, "/v1/transfers", body).await
}

/// A store's step on `transfer`: a change of `kind` naming it.
fn step(transfer: &Value, kind: &str, delta: i64) -> Value {
    let mut step = change(op(), CAMERA, delta, None);
    step["kind"] = json!(kind);
    step["transfer_id"] = transfer["transfer_id"].clone();
    step
}

async fn in_transit(app: &TestApp) -> i64 {
    let (_, body) = app
        .get_as(TestClient::Admin, &format!("/v1/inventory/{CAMERA}"))
        .await;
    body["in_transit"].as_i64().expect("in_transit")
}

#[tokio::test]
async fn a_request_is_recorded_once_and_nudges_both_stores() {
    let app = spawn_app().await;
    let id = op();
    let mut body = order(5);
    body["transfer_id"] = json!(id);
    let (status, first) = request(&app, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(
        (first["status"].as_str(), first["version"].as_i64()),
        (Some("requested"), Some(1))
    );
    let (status, again) = request(&app, &body).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again, first, "the same request again changes nothing");
    let nudged = app.nudger.nudged();
    assert!(
        nudged.contains(&STORE_1.to_owned()) && nudged.contains(&STORE_2.to_owned()),
        "{nudged:?}"
    );

    body["quantity"] = json!(6);
    let (status, reused) = request(&app, &body).await;
    assert_refused(status, &reused, StatusCode::CONFLICT, "transfer_id_reused");
    let (status, got) = app
        .get_as(TestClient::Admin, &format!("/v1/transfers/{id}"))
        .await;
    assert_eq!((status, got), (StatusCode::OK, first));
    app.cleanup().await;
}

#[tokio::test]
async fn impossible_requests_are_refused_and_record_nothing() {
    let app = spawn_app().await;
    let before = app.event_count().await;
    let mut same = order(5);
    same["to_store"] = json!(STORE_1);
    let (status, body) = request(&app, &same).await;
    assert_refused(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let (status, body) = request(&app, &order(0)).await;
    assert_refused(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let mut unknown = order(5);
    unknown["to_store"] = json!("STORE-999");
    let (status, body) = request(&app, &unknown).await;
    assert_refused(status, &body, StatusCode::NOT_FOUND, "sku_not_found");
    let (status, body) = app
        .post_as(TestClient::Store1, "/v1/transfers", &order(5))
        .await;
    assert_refused(status, &body, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.event_count().await, before);
    app.cleanup().await;
}

#[tokio::test]
async fn steps_follow_the_transfer_and_in_transit_follows_the_steps() {
    let app = spawn_app().await;
    let (_, transfer) = request(&app, &order(5)).await;
    let id = transfer["transfer_id"].as_str().expect("id").to_owned();

    // Receiving before the shipment, shipping another quantity, and the
    // wrong store shipping are refused for good and move no stock.
    let early = step(&transfer, "transfer_in", 5);
    let (_, answers) = app.push_batch(STORE_2, vec![early]).await;
    assert_eq!(
        answers["results"][0]["outcome"], "transfer_refused",
        "{answers}"
    );
    let (_, answers) = app
        .push_batch(STORE_1, vec![step(&transfer, "transfer_out", -4)])
        .await;
    assert_eq!(answers["results"][0]["outcome"], "transfer_refused");
    let (_, answers) = app
        .push_batch(STORE_2, vec![step(&transfer, "transfer_out", -5)])
        .await;
    assert_eq!(answers["results"][0]["outcome"], "transfer_refused");
    let mut other_sku = step(&transfer, "transfer_out", -5);
    other_sku["sku"] = json!("ELEC-TV-008");
    let (_, answers) = app.push_batch(STORE_1, vec![other_sku]).await;
    assert_eq!(
        answers["results"][0]["outcome"], "transfer_refused",
        "another SKU"
    );
    let (_, item) = app.item(STORE_2, CAMERA).await;
    assert_eq!(item["quantity"], CAMERA_QUANTITY);

    let ship = step(&transfer, "transfer_out", -5);
    let (_, answers) = app.push_batch(STORE_1, vec![ship.clone()]).await;
    assert_eq!(answers["results"][0]["outcome"], "applied", "{answers}");
    let (_, answers) = app.push_batch(STORE_1, vec![ship]).await;
    assert_eq!(
        answers["results"][0]["replayed"], true,
        "a repeat is the same shipment"
    );
    let (_, shipped) = app
        .get_as(TestClient::Admin, &format!("/v1/transfers/{id}"))
        .await;
    assert_eq!(
        (shipped["status"].as_str(), shipped["shipped"].as_i64()),
        (Some("shipped"), Some(5))
    );
    assert_eq!(in_transit(&app).await, 5);
    let (status, body) = app
        .post_as(
            TestClient::Admin,
            &format!("/v1/transfers/{id}/cancel"),
            &json!({}),
        )
        .await;
    assert_refused(
        status,
        &body,
        StatusCode::CONFLICT,
        "transfer_not_requested",
    );

    let (_, answers) = app
        .push_batch(STORE_2, vec![step(&transfer, "transfer_in", 4)])
        .await;
    assert_eq!(answers["results"][0]["outcome"], "applied");
    let (_, received) = app
        .get_as(TestClient::Admin, &format!("/v1/transfers/{id}"))
        .await;
    assert_eq!(
        (
            received["status"].as_str(),
            received["discrepancy"].as_i64()
        ),
        (Some("received"), Some(1))
    );
    assert_eq!(in_transit(&app).await, 0);
    let (_, item) = app.item(STORE_2, CAMERA).await;
    assert_eq!(item["quantity"], CAMERA_QUANTITY + 4);
    let metrics = app.metrics_text().await;
    for step in ["requested", "shipped", "received"] {
        let line = format!("central_transfer_steps_total{{step=\"{step}\"}} 1");
        assert!(metrics.contains(&line), "{line} missing");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn a_shipment_of_a_cancelled_transfer_is_refused_for_good() {
    let app = spawn_app().await;
    let (_, transfer) = request(&app, &order(3)).await;
    let id = transfer["transfer_id"].as_str().expect("id");
    let (status, cancelled) = app
        .post_as(
            TestClient::Admin,
            &format!("/v1/transfers/{id}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    let (_, answers) = app
        .push_batch(STORE_1, vec![step(&transfer, "transfer_out", -3)])
        .await;
    let result = &answers["results"][0];
    assert_eq!(result["outcome"], "transfer_refused", "{answers}");
    assert_eq!(
        result["quantity"], CAMERA_QUANTITY,
        "central's figures come with the refusal"
    );
    let (_, item) = app.item(STORE_1, CAMERA).await;
    assert_eq!(item["quantity"], CAMERA_QUANTITY);
    app.cleanup().await;
}

#[tokio::test]
async fn each_store_reads_its_own_transfers_and_the_feed_carries_them() {
    let app = spawn_app().await;
    let (_, first) = request(&app, &order(2)).await;
    let mut back = order(1);
    back["from_store"] = json!(STORE_2);
    back["to_store"] = json!(STORE_1);
    let (_, second) = request(&app, &back).await;

    let (_, listed) = app
        .get_as(TestClient::Admin, "/v1/transfers?status=requested")
        .await;
    assert_eq!(listed["items"], json!([first, second]));
    let (_, none) = app
        .get_as(TestClient::Admin, "/v1/transfers?store_id=STORE-003")
        .await;
    assert_eq!(none["items"], json!([]));
    let (_, own) = app.get_as(TestClient::Store1, "/v1/transfers").await;
    assert_eq!(
        own["items"].as_array().map(Vec::len),
        Some(2),
        "both involve STORE-001"
    );

    let (status, feed) = app
        .get_as(
            TestClient::Worker,
            &format!("/v1/sync/transfers?store_id={STORE_2}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    assert_eq!(feed["transfers"], json!([first, second]));
    let cursor = feed["cursor"].as_str().expect("cursor");
    let after = format!("/v1/sync/transfers?store_id={STORE_2}&after={cursor}");
    let (_, rest) = app.get_as(TestClient::Worker, &after).await;
    assert_eq!(rest["transfers"], json!([]), "nothing moved since");
    let (_, other) = app
        .get_as(TestClient::Worker, "/v1/sync/transfers?store_id=STORE-003")
        .await;
    assert_eq!(
        other["transfers"],
        json!([]),
        "a store sees only its own transfers"
    );
    let (status, body) = app
        .get_as(
            TestClient::Store1,
            &format!("/v1/sync/transfers?store_id={STORE_2}"),
        )
        .await;
    assert_refused(status, &body, StatusCode::FORBIDDEN, "forbidden");
    app.cleanup().await;
}

#[tokio::test]
async fn transfers_rebuild_from_the_log() {
    let app = spawn_app().await;
    let (_, transfer) = request(&app, &order(5)).await;
    app.push_batch(STORE_1, vec![step(&transfer, "transfer_out", -5)])
        .await;
    request(&app, &order(1)).await;
    sqlx::query("UPDATE transfers SET status = 'requested', shipped = NULL")
        .execute(&app.pool)
        .await
        .expect("corrupt transfers");
    let drift = app.run_cli(&["rebuild-projections", "--verify"]).await;
    assert!(
        !drift.status.success(),
        "verify missed the corrupted transfer"
    );
    assert!(app.run_cli(&["rebuild-projections"]).await.status.success());
    let clean = app.run_cli(&["rebuild-projections", "--verify"]).await;
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    assert_eq!(in_transit(&app).await, 5);
    app.cleanup().await;
}
