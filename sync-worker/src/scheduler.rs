//! The safety net: every `SYNC_INTERVAL`, nudge every configured store, so
//! a lost nudge delays a change by one interval at most.
//!
//! Several replicas must not multiply the schedule: rounds fall on
//! wall-clock multiples of the interval (plus a little jitter), so every
//! replica fires in the same short window; a store whose queue already
//! holds a nudge is skipped; and the store's consumer acks without syncing
//! a nudge that was already queued when a complete sync started. A first
//! round runs at start-up, so changes made while no worker was running are
//! picked up at once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use domain::StoreId;
use lapin::Channel;
use lapin::options::{ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use rand::Rng;
use tokio_util::sync::CancellationToken;

use crate::bus::{self, PublishError};
use crate::consumer::ConsumerError;
use crate::message;
use crate::metrics::WorkerMetrics;
use crate::topology::BrokerTopology;

/// Most jitter added to a round.
const MAX_JITTER: Duration = Duration::from_secs(5);

/// Nudges every store every interval.
pub struct Scheduler {
    /// Its own channel to publish on.
    pub channel: Channel,
    pub topology: BrokerTopology,
    pub stores: Vec<StoreId>,
    pub interval: Duration,
    pub metrics: WorkerMetrics,
    /// Cancelled at shutdown.
    pub stop: CancellationToken,
}

impl Scheduler {
    /// Runs rounds until `stop` is cancelled (`Ok`), or until its channel is
    /// closed for good (`Err`; the caller reconnects).
    #[tracing::instrument(name = "scheduler", skip_all, fields(interval_s = self.interval.as_secs()))]
    pub async fn run(self) -> Result<(), ConsumerError> {
        self.channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        loop {
            self.round().await;
            let status = self.channel.status();
            if !status.connected() && !status.reconnecting() {
                return Err(ConsumerError::Cancelled);
            }
            let wait = until_next_slot(unix_ms(), self.interval) + jitter(self.interval);
            tokio::select! {
                () = self.stop.cancelled() => return Ok(()),
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn round(&self) {
        for store in &self.stores {
            let result = match self.nudge_if_idle(store).await {
                Ok(true) => "published",
                Ok(false) => "skipped",
                Err(error) => {
                    tracing::warn!(store_id = %store, %error, "scheduled nudge not published");
                    "failed"
                }
            };
            self.metrics
                .schedule_nudges
                .with_label_values(&[result])
                .inc();
        }
        tracing::debug!(stores = self.stores.len(), "scheduled round done");
    }

    /// Publishes a nudge unless the store's queue already holds one.
    async fn nudge_if_idle(&self, store: &StoreId) -> Result<bool, PublishError> {
        let names = self.topology.names();
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let queue = self
            .channel
            .queue_declare(
                names.store_queue(store.as_str()).into(),
                options,
                FieldTable::default(),
            )
            .await?;
        if queue.message_count() > 0 {
            return Ok(false);
        }
        bus::publish(
            &self.channel,
            names.exchange(),
            store.as_str(),
            message::properties(None),
        )
        .await?;
        Ok(true)
    }
}

/// Time from `now_ms` (Unix ms) to the next multiple of `interval`.
pub fn until_next_slot(now_ms: u64, interval: Duration) -> Duration {
    let interval_ms = u64::try_from(interval.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    Duration::from_millis(interval_ms - now_ms % interval_ms)
}

/// Random delay up to a tenth of the interval (at most [`MAX_JITTER`]).
fn jitter(interval: Duration) -> Duration {
    let max = (interval / 10).min(MAX_JITTER);
    let max_ms = u64::try_from(max.as_millis()).unwrap_or(0);
    Duration::from_millis(rand::rng().random_range(0..=max_ms))
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_fall_on_multiples_of_the_interval() {
        let minute = Duration::from_secs(60);
        assert_eq!(until_next_slot(120_000, minute), minute);
        assert_eq!(
            until_next_slot(121_500, minute),
            Duration::from_millis(58_500)
        );
        assert_eq!(until_next_slot(179_999, minute), Duration::from_millis(1));
    }

    #[test]
    fn jitter_stays_within_a_tenth_of_the_interval_and_five_seconds() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_secs(10)) <= Duration::from_secs(1));
            assert!(jitter(Duration::from_secs(900)) <= MAX_JITTER);
        }
    }
}
