//! Sync status of a change and the manual trigger.

use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use serde_json::json;

use crate::helpers::{LAPTOP, STORE_ID, amqp_url, spawn_app};

#[tokio::test]
async fn a_new_change_is_pending_and_not_yet_ok() {
    let app = spawn_app().await;
    let id = app.update_laptop(json!({ "delta": -1 })).await;

    let status = app.sync_status(&id).await;

    assert_eq!(status["status"], "pending");
    assert_eq!(status["ok"], false, "ok only once central applied it");
    assert_eq!(status["sku"], LAPTOP);
    assert_eq!(status["delta"], -1);
    assert_eq!(status["attempts"], 0);
    assert!(status["message"].as_str().is_some());
}

#[tokio::test]
async fn the_trigger_publishes_a_nudge_for_this_store() {
    let app = spawn_app().await;
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| {
            panic!("RabbitMQ is not reachable ({e}); start it: rabbitmq-server -detached")
        });
    let queue = format!("{}.observer", app.exchange);
    // The store declares its exchange when its publisher connects; a failed
    // bind closes its channel, so each attempt takes a new one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let channel = connection.create_channel().await.expect("channel");
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("declare");
        let bound = channel
            .queue_bind(
                queue.as_str().into(),
                app.exchange.as_str().into(),
                STORE_ID.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await;
        if bound.is_ok() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "store never declared its exchange"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Readiness reports when the store's publisher holds a channel.
    while app.get_json("/health/ready").await["checks"]["broker"]["ok"] != true {
        assert!(
            std::time::Instant::now() < deadline,
            "store never connected to the broker"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let response = app.trigger_sync().await;

    assert_eq!(response.status(), 202);
    let channel = connection.create_channel().await.expect("channel");
    let message = channel
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .expect("get");
    let delivery = message.expect("a nudge was published");
    assert_eq!(delivery.routing_key.as_str(), STORE_ID);
    channel
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await
        .expect("delete queue");
    channel
        .exchange_delete(app.exchange.as_str().into(), Default::default())
        .await
        .expect("delete exchange");
}
