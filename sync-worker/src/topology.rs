//! The worker's RabbitMQ topology, declared durably and idempotently on
//! every connection (names from [`service_infra::sync_bus::Topology`]):
//!
//! - the nudge exchange (direct, routed by store id);
//! - one queue per store, bound with the store id, with single active
//!   consumer (one sync of a store at a time across every replica, failing
//!   over when that worker dies) and a dead-letter exchange for poison;
//! - the dead-letter exchange (fanout) and queue;
//! - the retry exchange (headers) and one queue per backoff level, whose
//!   queue-wide TTL makes a failed nudge wait out its delay before it is
//!   dead-lettered back to the nudge exchange under its original routing
//!   key, the store id. (A single queue of per-message TTLs would hold a
//!   short delay behind a long one: RabbitMQ expires only the queue head.)

use std::time::Duration;

use domain::StoreId;
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, ExchangeKind};
use service_infra::sync_bus::Topology;

use crate::retry::{DELAY_HEADER, RetryPolicy};

/// Names and shape of everything the worker declares.
#[derive(Debug, Clone)]
pub struct BrokerTopology {
    names: Topology,
    retry_levels: Vec<Duration>,
}

impl BrokerTopology {
    /// The topology rooted at `exchange`, with a retry queue per level of
    /// `retry`.
    pub fn new(exchange: &str, retry: &RetryPolicy) -> Self {
        Self {
            names: Topology::new(exchange),
            retry_levels: retry.levels(),
        }
    }

    /// The shared names (exchange, store queues, dead letters, retries).
    pub fn names(&self) -> &Topology {
        &self.names
    }

    /// The queue where nudges wait `delay` before they return.
    pub fn retry_level_queue(&self, delay: Duration) -> String {
        format!("{}.{}", self.names.retry_queue(), level_key(delay))
    }

    /// Every queue the worker declares for `stores`, for clean-up by tests
    /// and operators.
    pub fn queues<'a>(&self, stores: impl IntoIterator<Item = &'a StoreId>) -> Vec<String> {
        let mut queues: Vec<String> = stores
            .into_iter()
            .map(|id| self.names.store_queue(id.as_str()))
            .collect();
        queues.push(self.names.dead_letter_queue());
        queues.extend(self.retry_levels.iter().map(|d| self.retry_level_queue(*d)));
        queues
    }

    /// Declares the exchanges, the dead-letter and retry queues, and the
    /// queue of each store in `stores`.
    pub async fn declare<'a>(
        &self,
        channel: &Channel,
        stores: impl IntoIterator<Item = &'a StoreId>,
    ) -> lapin::Result<()> {
        let names = &self.names;
        names.declare_exchange(channel).await?;
        declare_exchange(channel, &names.dead_letter_exchange(), ExchangeKind::Fanout).await?;
        declare_queue(channel, &names.dead_letter_queue(), FieldTable::default()).await?;
        bind(
            channel,
            &names.dead_letter_queue(),
            &names.dead_letter_exchange(),
            "",
            FieldTable::default(),
        )
        .await?;

        declare_exchange(channel, &names.retry_exchange(), ExchangeKind::Headers).await?;
        for delay in &self.retry_levels {
            let queue = self.retry_level_queue(*delay);
            let mut args = FieldTable::default();
            let ttl_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            args.insert("x-message-ttl".into(), AMQPValue::LongLongInt(ttl_ms));
            args.insert(
                "x-dead-letter-exchange".into(),
                long_string(names.exchange()),
            );
            declare_queue(channel, &queue, args).await?;
            let mut matching = FieldTable::default();
            matching.insert("x-match".into(), long_string("all"));
            matching.insert(DELAY_HEADER.into(), long_string(&level_key(*delay)));
            bind(channel, &queue, &names.retry_exchange(), "", matching).await?;
        }

        for store in stores {
            let queue = names.store_queue(store.as_str());
            declare_queue(channel, &queue, self.store_queue_arguments()).await?;
            bind(
                channel,
                &queue,
                names.exchange(),
                store.as_str(),
                FieldTable::default(),
            )
            .await?;
        }
        Ok(())
    }

    /// Arguments of every store queue; a declaration with other arguments
    /// would be refused by the broker, so they live in one place.
    fn store_queue_arguments(&self) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
        args.insert(
            "x-dead-letter-exchange".into(),
            long_string(&self.names.dead_letter_exchange()),
        );
        args
    }
}

/// The value of [`DELAY_HEADER`] that routes a nudge to the level `delay`.
pub fn level_key(delay: Duration) -> String {
    format!("{}ms", delay.as_millis())
}

/// A string header or argument value.
pub fn long_string(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.to_owned()))
}

async fn declare_exchange(channel: &Channel, name: &str, kind: ExchangeKind) -> lapin::Result<()> {
    let options = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(name.into(), kind, options, FieldTable::default())
        .await
}

async fn declare_queue(channel: &Channel, name: &str, args: FieldTable) -> lapin::Result<()> {
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(name.into(), options, args)
        .await
        .map(|_| ())
}

async fn bind(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    routing_key: &str,
    args: FieldTable,
) -> lapin::Result<()> {
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            routing_key.into(),
            QueueBindOptions::default(),
            args,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_retry_level_has_its_own_queue() {
        let retry = RetryPolicy::new(Duration::from_secs(1), Duration::from_secs(4));
        let topology = BrokerTopology::new("inventory.sync", &retry);
        let store: StoreId = "STORE-001".parse().expect("store id");
        assert_eq!(
            topology.queues([&store]),
            [
                "inventory.sync.store.STORE-001",
                "inventory.sync.dead-letter",
                "inventory.sync.retry.1000ms",
                "inventory.sync.retry.2000ms",
                "inventory.sync.retry.4000ms",
            ]
        );
    }
}
