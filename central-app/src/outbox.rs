//! Publishes the outbox: messages written by the transactions that decided
//! them (low-stock alerts) go to the durable topic exchange
//! `inventory.events` once those transactions committed, in order. A
//! message is deleted only after the broker confirmed it, in the same
//! transaction that locked it, so a crash loses none and never invents one;
//! a crash between the confirmation and the delete sends it again with the
//! same `message_id`, by which a consumer drops the repeat. A message the
//! broker refuses (nack) stays for the next round. One replica publishes at
//! a time (an advisory lock), so messages leave in the order they were
//! decided.

use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use prometheus::IntCounterVec;
use sqlx::PgPool;
use uuid::Uuid;

/// Default name of the exchange other systems bind their queues to.
pub const DEFAULT_EVENTS_EXCHANGE: &str = "inventory.events";

/// The advisory lock only the publishing replica holds.
const PUBLISHER_LOCK: i64 = 0x6f75_7462_6f78; // "outbox"

/// Messages taken per transaction.
const BATCH: i64 = 100;
/// How often the outbox is looked at when it was empty.
const IDLE: Duration = Duration::from_millis(200);
/// How long the broker has to confirm one message.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(sqlx::FromRow)]
struct Message {
    id: i64,
    message_id: Uuid,
    routing_key: String,
    payload: serde_json::Value,
}

/// Starts the publisher in the background; it runs until the process ends
/// (or the handle is aborted), reconnecting while the broker is away (the
/// messages wait in the outbox).
pub fn start(
    pool: PgPool,
    amqp_url: String,
    exchange: String,
    published: IntCounterVec,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(200);
        loop {
            match connect(&amqp_url, &exchange).await {
                Ok((connection, channel)) => {
                    backoff = Duration::from_millis(200);
                    tracing::info!(%exchange, "outbox publisher connected");
                    let error = drain(&pool, &channel, &exchange, &published).await;
                    tracing::warn!(%error, "outbox publisher stopped; reconnecting");
                    let _ = connection.close(200, "reconnecting".into()).await;
                }
                Err(error) => tracing::warn!(%error, "outbox publisher cannot reach the broker"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    })
}

async fn connect(amqp_url: &str, exchange: &str) -> lapin::Result<(Connection, Channel)> {
    let connection = Connection::connect(amqp_url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok((connection, channel))
}

/// Publishes until something fails; the error.
async fn drain(
    pool: &PgPool,
    channel: &Channel,
    exchange: &str,
    published: &IntCounterVec,
) -> anyhow::Error {
    loop {
        match publish_batch(pool, channel, exchange, published).await {
            Ok(0) => tokio::time::sleep(IDLE).await,
            Ok(_) => {}
            Err(error) => return error,
        }
    }
}

/// Publishes the oldest unpublished messages and deletes them, in one
/// transaction; returns how many.
async fn publish_batch(
    pool: &PgPool,
    channel: &Channel,
    exchange: &str,
    published: &IntCounterVec,
) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    // One publisher at a time across replicas, so messages go out in the
    // order they were decided (a `stock.restored` never overtakes its
    // `stock.low`); the others find the lock taken and wait for the next
    // round.
    let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(PUBLISHER_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !ours {
        return Ok(0);
    }
    let messages: Vec<Message> = sqlx::query_as(
        "SELECT id, message_id, routing_key, payload FROM outbox ORDER BY id LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    for message in &messages {
        let body = serde_json::to_vec(&message.payload)?;
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(message.message_id.to_string().into());
        let confirm = channel
            .basic_publish(
                exchange.into(),
                message.routing_key.as_str().into(),
                BasicPublishOptions::default(),
                &body,
                properties,
            )
            .await?;
        let confirmation = tokio::time::timeout(CONFIRM_TIMEOUT, confirm)
            .await
            .map_err(|_| anyhow::anyhow!("the broker did not confirm in time"))??;
        if confirmation.is_nack() {
            // Refused (a full queue, say): kept for the next round.
            anyhow::bail!("the broker refused message {}", message.message_id);
        }
        let event = message
            .routing_key
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".");
        published.with_label_values(&[&event]).inc();
    }
    let ids: Vec<i64> = messages.iter().map(|message| message.id).collect();
    sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(messages.len())
}
