//! Reservations at central: holds against what is available, release,
//! expiry exactly once, short holds after an early sale, and low-stock
//! alerts once per crossing, published from the outbox to a real broker.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    CAMERA, CAMERA_QUANTITY, STORE_1, STORE_2, TestApp, TestClient, assert_refused, change, op,
    spawn_app,
};

async fn hold(app: &TestApp, store: &str, body: &Value) -> (StatusCode, Value) {
    let path = format!("/v1/stores/{store}/reservations");
    app.post_as(TestClient::Admin, &path, body).await
}

fn camera_hold(quantity: i64, expires_in: i64) -> Value {
    json!({ "sku": CAMERA, "quantity": quantity, "expires_in": expires_in })
}

/// `PUT` the camera's reorder point at STORE-001.
async fn reorder_point(app: &TestApp, level: i64) -> (StatusCode, Value) {
    let path = format!("/v1/stores/{STORE_1}/inventory/{CAMERA}/reorder-point");
    let request = app
        .request(reqwest::Method::PUT, &path)
        .bearer_auth(app.token(TestClient::Admin).await)
        .json(&json!({ "level": level }));
    crate::helpers::json_body(request.send().await.expect("put")).await
}

async fn item(app: &TestApp) -> Value {
    app.item(STORE_1, CAMERA).await.1
}

async fn reservation(app: &TestApp, id: &Value) -> Value {
    let id = id.as_str().expect("reservation id");
    app.get_as(TestClient::Admin, &format!("/v1/reservations/{id}"))
        .await
        .1
}

#[tokio::test]
async fn a_hold_lowers_available_and_a_release_gives_it_back() {
    let app = spawn_app().await;
    let (status, held) = hold(&app, STORE_1, &camera_hold(20, 3600)).await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    assert_eq!(held["status"], "held");
    let now = item(&app).await;
    assert_eq!(
        (now["reserved"].as_i64(), now["available"].as_i64()),
        (Some(20), Some(CAMERA_QUANTITY - 20))
    );
    assert_eq!(now["quantity"], CAMERA_QUANTITY, "a hold moves no stock");
    assert!(
        app.nudger.nudged().contains(&STORE_1.to_owned()),
        "the store is told"
    );

    let (status, body) = hold(&app, STORE_1, &camera_hold(6, 3600)).await;
    assert_refused(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "insufficient_available",
    );
    assert_eq!(body["details"]["available"], CAMERA_QUANTITY - 20);
    let (status, _) = hold(&app, STORE_2, &camera_hold(6, 3600)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "another store's units are its own"
    );

    let id = held["reservation_id"].as_str().expect("id");
    let path = format!("/v1/reservations/{id}/release");
    let (status, released) = app.post_as(TestClient::Admin, &path, &json!({})).await;
    assert_eq!(
        (status, released["status"].as_str()),
        (StatusCode::OK, Some("released"))
    );
    let (status, body) = app.post_as(TestClient::Admin, &path, &json!({})).await;
    assert_refused(status, &body, StatusCode::CONFLICT, "reservation_not_held");
    assert_eq!(item(&app).await["available"], CAMERA_QUANTITY);
    app.cleanup().await;
}

#[tokio::test]
async fn the_same_hold_again_is_one_hold_and_bad_ones_hold_nothing() {
    let app = spawn_app().await;
    let mut body = camera_hold(2, 3600);
    body["reservation_id"] = json!(op());
    let (_, first) = hold(&app, STORE_1, &body).await;
    let (status, again) = hold(&app, STORE_1, &body).await;
    assert_eq!((status, again), (StatusCode::CREATED, first));
    body["quantity"] = json!(3);
    let (status, reused) = hold(&app, STORE_1, &body).await;
    assert_refused(
        status,
        &reused,
        StatusCode::CONFLICT,
        "reservation_id_reused",
    );
    body["quantity"] = json!(2);
    let (status, elsewhere) = hold(&app, STORE_2, &body).await;
    assert_refused(
        status,
        &elsewhere,
        StatusCode::CONFLICT,
        "reservation_id_reused",
    );
    for bad in [
        camera_hold(0, 60),
        camera_hold(1, 0),
        json!({ "sku": CAMERA, "quantity": 1 }),
    ] {
        let (status, _) = hold(&app, STORE_1, &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let unknown = json!({ "sku": "ELEC-NOPE-999", "quantity": 1, "expires_in": 60 });
    let (status, body) = hold(&app, STORE_1, &unknown).await;
    assert_refused(status, &body, StatusCode::NOT_FOUND, "sku_not_found");
    let (status, body) = app
        .post_as(
            TestClient::Store1,
            &format!("/v1/stores/{STORE_1}/reservations"),
            &camera_hold(1, 60),
        )
        .await;
    assert_refused(status, &body, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(item(&app).await["reserved"], 2);
    app.cleanup().await;
}

#[tokio::test]
async fn an_unfulfilled_hold_expires_once_even_with_several_expirers() {
    let app = spawn_app().await;
    let (_, held) = hold(&app, STORE_1, &camera_hold(5, 1)).await;
    // The app's own task runs every 200 ms; three more replicas race it.
    let ledger = central_app::ledger::Ledger::new(app.pool.clone());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (a, b, c) = tokio::join!(
        ledger.expire_due(10),
        ledger.expire_due(10),
        ledger.expire_due(10)
    );
    let expired_here = [a, b, c]
        .into_iter()
        .map(|r| r.expect("expire").len())
        .sum::<usize>();
    assert!(expired_here <= 1, "{expired_here} expiries");
    let mut status = Value::Null;
    for _ in 0..20 {
        status = reservation(&app, &held["reservation_id"]).await["status"].clone();
        if status == "expired" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "expired");
    let expirations: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'HoldExpired'")
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert_eq!(expirations, 1, "expired exactly once");
    assert_eq!(
        item(&app).await["available"],
        CAMERA_QUANTITY,
        "available returns"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_sale_made_before_the_store_heard_of_a_hold_leaves_it_short() {
    let app = spawn_app().await;
    let (_, older) = hold(&app, STORE_1, &camera_hold(10, 3600)).await;
    let (_, newer) = hold(&app, STORE_1, &camera_hold(10, 3600)).await;
    // The store, offline, sold 10 of the 25 meanwhile: 15 left for 20 held.
    let mut sale = change(op(), CAMERA, -10, None);
    sale["kind"] = json!("sale");
    let (_, answers) = app.push_batch(STORE_1, vec![sale]).await;
    assert_eq!(
        answers["results"][0]["outcome"], "applied",
        "a store's sale is a fact"
    );
    assert_eq!(
        reservation(&app, &newer["reservation_id"]).await["status"],
        "short"
    );
    assert_eq!(
        reservation(&app, &older["reservation_id"]).await["status"],
        "held"
    );
    let now = item(&app).await;
    assert_eq!(
        (
            now["quantity"].as_i64(),
            now["reserved"].as_i64(),
            now["available"].as_i64()
        ),
        (Some(15), Some(10), Some(5))
    );
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"central_holds_ended_total{status="short"} 1"#),
        "{metrics}"
    );
    let (_, short) = app
        .get_as(TestClient::Admin, "/v1/reservations?status=short")
        .await;
    assert_eq!(short["items"].as_array().map(Vec::len), Some(1));
    app.cleanup().await;
}

#[tokio::test]
async fn low_stock_is_one_alert_per_crossing() {
    let app = spawn_app().await;
    let (status, point) = reorder_point(&app, 10).await;
    assert_eq!(status, StatusCode::OK, "{point}");
    assert_eq!(
        (point["available"].as_i64(), point["low"].as_bool()),
        (Some(CAMERA_QUANTITY), Some(false))
    );
    for delta in [-10, -5, -1, -1] {
        // 25 → 15 → 10 (low) → 9 → 8: one alert.
        app.push_batch(STORE_1, vec![change(op(), CAMERA, delta, None)])
            .await;
    }
    let (_, alerts) = app.get_as(TestClient::Admin, "/v1/alerts").await;
    assert_eq!(alerts["alerts"][0]["sku"], CAMERA, "{alerts}");
    assert_eq!(alerts["alerts"][0]["level"], 10);
    app.push_batch(STORE_1, vec![change(op(), CAMERA, 5, None)])
        .await; // 13: restored
    let (_, alerts) = app.get_as(TestClient::Admin, "/v1/alerts").await;
    assert_eq!(alerts["alerts"], json!([]));
    hold(&app, STORE_1, &camera_hold(3, 3600)).await; // available 10: low again
    let messages: Vec<String> = sqlx::query_scalar("SELECT routing_key FROM outbox ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .expect("outbox");
    let low = format!("stock.low.{STORE_1}.{CAMERA}");
    let restored = format!("stock.restored.{STORE_1}.{CAMERA}");
    assert_eq!(messages, vec![low.clone(), restored, low]);
    app.cleanup().await;
}

#[tokio::test]
async fn the_outbox_reaches_a_bound_queue_as_one_message_across_a_publisher_restart() {
    let app = spawn_app().await;
    let exchange = format!("test-events-{}", uuid::Uuid::new_v4().simple());
    let connection = lapin::Connection::connect(&crate::helpers::amqp_url(), Default::default())
        .await
        .expect("broker");
    let channel = connection.create_channel().await.expect("channel");
    channel
        .exchange_declare(
            exchange.as_str().into(),
            lapin::ExchangeKind::Topic,
            lapin::options::ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("exchange");
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("queue");
    channel
        .queue_bind(
            queue.name().clone(),
            exchange.as_str().into(),
            "stock.low.#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind");

    let (status, point) = reorder_point(&app, 30).await;
    assert_eq!(
        (status, point["low"].as_bool()),
        (StatusCode::OK, Some(true)),
        "a level above stock is low at once"
    );
    // A publisher runs, stops (the process is gone), another takes over.
    let counter = prometheus::IntCounterVec::new(prometheus::Opts::new("t", "t"), &["event"])
        .expect("counter");
    let first = publisher(&app, &exchange, &counter);
    let mut consumer = channel
        .basic_consume(
            queue.name().clone(),
            "test".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consume");
    let delivery = tokio::time::timeout(Duration::from_secs(10), consumer.next())
        .await
        .expect("a stock.low within 10 s")
        .expect("delivery")
        .expect("ok");
    first.abort();
    delivery.ack(BasicAckOptions::default()).await.expect("ack");
    let message: Value = serde_json::from_slice(&delivery.data).expect("json");
    assert_eq!(
        (
            message["event"].as_str(),
            message["store_id"].as_str(),
            message["sku"].as_str()
        ),
        (Some("stock.low"), Some(STORE_1), Some(CAMERA))
    );
    assert_eq!(
        (message["available"].as_i64(), message["level"].as_i64()),
        (Some(CAMERA_QUANTITY), Some(30))
    );
    // The first publisher may have been stopped between the broker's
    // confirmation and its commit: then the next one sends the message
    // again, with the same message_id, by which a consumer drops it.
    let second = publisher(&app, &exchange, &counter);
    let first_id = delivery.properties.message_id().clone();
    while let Ok(Some(Ok(repeat))) =
        tokio::time::timeout(Duration::from_secs(2), consumer.next()).await
    {
        assert_eq!(
            repeat.properties.message_id(),
            &first_id,
            "only the one alert"
        );
        repeat.ack(BasicAckOptions::default()).await.expect("ack");
    }
    second.abort();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .expect("outbox");
    assert_eq!(left, 0, "a confirmed message leaves the outbox");

    let _ = channel
        .queue_delete(queue.name().clone(), QueueDeleteOptions::default())
        .await;
    let _ = channel
        .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
        .await;
    let _ = connection.close(200, "done".into()).await;
    app.cleanup().await;
}

/// An outbox publisher, as `serve` runs one, until aborted.
fn publisher(
    app: &TestApp,
    exchange: &str,
    counter: &prometheus::IntCounterVec,
) -> tokio::task::JoinHandle<()> {
    let url = crate::helpers::amqp_url();
    central_app::outbox::start(app.pool.clone(), url, exchange.to_owned(), counter.clone())
}

#[tokio::test]
async fn reservations_rebuild_from_the_log() {
    let app = spawn_app().await;
    hold(&app, STORE_1, &camera_hold(2, 3600)).await;
    let (_, released) = hold(&app, STORE_2, &camera_hold(1, 3600)).await;
    let id = released["reservation_id"].as_str().expect("id");
    app.post_as(
        TestClient::Admin,
        &format!("/v1/reservations/{id}/release"),
        &json!({}),
    )
    .await;
    sqlx::query("UPDATE reservations SET status = 'held'")
        .execute(&app.pool)
        .await
        .expect("corrupt");
    let drift = app.run_cli(&["rebuild-projections", "--verify"]).await;
    assert!(!drift.status.success());
    assert!(app.run_cli(&["rebuild-projections"]).await.status.success());
    let clean = app.run_cli(&["rebuild-projections", "--verify"]).await;
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    assert_eq!(
        reservation(&app, &released["reservation_id"]).await["status"],
        "released"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_pick_up_fulfils_its_hold_and_a_late_one_is_still_a_sale() {
    let app = spawn_app().await;
    let (_, held) = hold(&app, STORE_1, &camera_hold(2, 3600)).await;
    let (_, gone) = hold(&app, STORE_1, &camera_hold(3, 3600)).await;
    let gone_id = gone["reservation_id"].as_str().expect("id");
    app.post_as(
        TestClient::Admin,
        &format!("/v1/reservations/{gone_id}/release"),
        &json!({}),
    )
    .await;
    let pickup = |reservation: &Value, delta: i64| {
        let mut sale = change(op(), CAMERA, delta, None);
        sale["kind"] = json!("sale");
        sale["reservation_id"] = reservation["reservation_id"].clone();
        sale
    };
    let (_, answers) = app
        .push_batch(STORE_1, vec![pickup(&held, -2), pickup(&gone, -3)])
        .await;
    let outcomes: Vec<&Value> = answers["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| &r["outcome"])
        .collect();
    assert_eq!(
        outcomes,
        vec!["applied", "applied"],
        "a pick-up is a sale that happened"
    );
    assert_eq!(
        reservation(&app, &held["reservation_id"]).await["status"],
        "fulfilled"
    );
    assert_eq!(
        reservation(&app, &gone["reservation_id"]).await["status"],
        "released"
    );
    let now = item(&app).await;
    assert_eq!(
        (now["quantity"].as_i64(), now["reserved"].as_i64()),
        (Some(CAMERA_QUANTITY - 5), Some(0))
    );
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"central_holds_ended_total{status="fulfilled"} 1"#),
        "{metrics}"
    );
    app.cleanup().await;
}
