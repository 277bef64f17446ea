//! The sync nudge bus on RabbitMQ: names of the exchange and queues, and the
//! publisher stores and central use to say "store X has changes".
//!
//! Nudges carry no data (the worker reads changes over HTTP), so a lost or
//! duplicated nudge loses nothing; the worker's scheduler is the safety net.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use std::sync::Mutex;

use tokio::sync::{Notify, RwLock};

/// Default name of the nudge exchange.
pub const DEFAULT_EXCHANGE: &str = "inventory.sync";

/// Development default for `AMQP_URL` (every process): the local stack's
/// RabbitMQ with its well-known guest account. Never use it in production;
/// `--help` does not print it.
pub const DEV_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// How long a caller waits for the broker to confirm a nudge.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(3);

/// The least time between two publishing rounds: nudges queued meanwhile
/// go out once in the next round. Under load this caps a process at 200
/// rounds a second (one nudge per store each) instead of one per change,
/// for at most this much more propagation latency; the worker coalesces
/// nudges anyway, so the ones this saves bought nothing.
pub const NUDGE_SPACING: Duration = Duration::from_millis(5);

/// Names of everything on the broker, derived from one exchange name so a
/// test (or a second deployment on one broker) can use its own set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    exchange: String,
}

impl Topology {
    /// The topology rooted at `exchange` (e.g. [`DEFAULT_EXCHANGE`]).
    pub fn new(exchange: impl Into<String>) -> Self {
        Self {
            exchange: exchange.into(),
        }
    }

    /// The direct exchange nudges are published to, routed by store id.
    pub fn exchange(&self) -> &str {
        &self.exchange
    }

    /// The queue of one store's nudges (single active consumer).
    pub fn store_queue(&self, store_id: &str) -> String {
        format!("{}.store.{store_id}", self.exchange)
    }

    /// Where poison messages end up.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dead-letter", self.exchange)
    }

    /// The queue holding poison messages.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dead-letter", self.exchange)
    }

    /// Exchange and queue where failed nudges wait out their backoff before
    /// they return to [`Topology::exchange`].
    pub fn retry_exchange(&self) -> String {
        format!("{}.retry", self.exchange)
    }

    /// See [`Topology::retry_exchange`].
    pub fn retry_queue(&self) -> String {
        format!("{}.retry", self.exchange)
    }

    /// Declares the nudge exchange (idempotent).
    pub async fn declare_exchange(&self, channel: &Channel) -> lapin::Result<()> {
        channel
            .exchange_declare(
                self.exchange.as_str().into(),
                ExchangeKind::Direct,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
    }
}

/// Why a nudge could not be published.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("message broker unavailable")]
    Unavailable,
    #[error("message broker error: {0}")]
    Broker(#[from] lapin::Error),
    #[error("message broker did not confirm in time")]
    Timeout,
}

/// Publishes nudges. Cheap to clone; one connection per process, recovered
/// in the background.
#[derive(Clone)]
pub struct Nudger {
    inner: Arc<NudgerInner>,
}

struct NudgerInner {
    topology: Topology,
    channel: RwLock<Option<Channel>>,
    pending: Mutex<BTreeSet<String>>,
    wake: Notify,
}

impl Nudger {
    /// Starts the publisher: connects in the background (retrying while the
    /// broker is down) and publishes coalesced nudges as they are queued.
    pub fn start(amqp_url: String, topology: Topology) -> Self {
        let inner = Arc::new(NudgerInner {
            topology,
            channel: RwLock::new(None),
            pending: Mutex::new(BTreeSet::new()),
            wake: Notify::new(),
        });
        tokio::spawn(run(amqp_url, Arc::clone(&inner)));
        Self { inner }
    }

    /// Queues a nudge for `store_id` without waiting; nudges queued before
    /// the publisher gets to them are sent once.
    pub fn nudge(&self, store_id: &str) {
        pending(&self.inner).insert(store_id.to_owned());
        self.inner.wake.notify_one();
    }

    /// Publishes a nudge now and waits for the broker's confirmation.
    pub async fn publish_now(&self, store_id: &str) -> Result<(), BusError> {
        let channel = self.current_channel().await.ok_or(BusError::Unavailable)?;
        publish(&channel, &self.inner.topology, store_id).await
    }

    /// Whether the publisher has a usable channel.
    pub async fn is_connected(&self) -> bool {
        self.current_channel().await.is_some()
    }

    async fn current_channel(&self) -> Option<Channel> {
        let guard = self.inner.channel.read().await;
        guard.as_ref().filter(|c| c.status().connected()).cloned()
    }
}

/// The set of stores waiting for a nudge. A poisoned lock only means a
/// panic elsewhere; the set itself is always valid.
fn pending(inner: &NudgerInner) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
    inner
        .pending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn publish(channel: &Channel, topology: &Topology, store_id: &str) -> Result<(), BusError> {
    let confirm = channel
        .basic_publish(
            topology.exchange().into(),
            store_id.into(),
            BasicPublishOptions::default(),
            store_id.as_bytes(),
            BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("text/plain".into()),
        )
        .await?;
    match tokio::time::timeout(CONFIRM_TIMEOUT, confirm).await {
        Ok(result) => result.map(|_| ()).map_err(BusError::from),
        Err(_) => Err(BusError::Timeout),
    }
}

async fn connect(amqp_url: &str, topology: &Topology) -> lapin::Result<(Connection, Channel)> {
    let properties = ConnectionProperties::default();
    let connection = Connection::connect(amqp_url, properties).await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    topology.declare_exchange(&channel).await?;
    Ok((connection, channel))
}

/// Keeps a channel open and drains the pending nudges whenever woken.
async fn run(amqp_url: String, inner: Arc<NudgerInner>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let (connection, channel) = match connect(&amqp_url, &inner.topology).await {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "broker connect failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(200);
        *inner.channel.write().await = Some(channel.clone());
        tracing::info!("nudge publisher connected");
        inner.wake.notify_one();
        while connection.status().connected() || channel.status().connected() {
            let woken = tokio::time::timeout(Duration::from_secs(1), inner.wake.notified()).await;
            if woken.is_err() && pending(&inner).is_empty() {
                continue;
            }
            let stores = std::mem::take(&mut *pending(&inner));
            for store in stores {
                if let Err(error) = publish(&channel, &inner.topology, &store).await {
                    tracing::warn!(%error, store_id = %store, "nudge not published; will retry");
                    pending(&inner).insert(store);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    break;
                }
            }
            tokio::time::sleep(NUDGE_SPACING).await;
        }
        *inner.channel.write().await = None;
        tracing::warn!("nudge publisher lost the broker; reconnecting");
    }
}
