//! Consuming one store's queue: each nudge runs one sync of that store.
//!
//! - Prefetch 1 on the store's own channel, and the queue's single active
//!   consumer, so at most one sync of a store runs across every replica.
//! - A nudge is acked only once the sync's work is recorded at the store.
//! - A failed sync (or one that left changes for later) publishes the nudge
//!   to the retry exchange with the next backoff level, then acks it.
//! - Poison (a body that names no store, or another store) is rejected to
//!   the dead-letter queue.
//! - On shutdown the sync stops after the batch in hand (or is abandoned
//!   after a grace period) and its nudge goes back to the queue unacked.
//!
//! Duplicate nudges are harmless; a nudge is skipped when a complete sync
//! started after it was sent.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::Channel;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    BasicRejectOptions, ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use service_infra::sync_bus::unix_ms_now;

use crate::bus;
use crate::message::{self, Nudge};
use crate::store_client::StoreClient;
use crate::sync::{SyncContext, SyncRun, sync_store_with};
use crate::topology::BrokerTopology;

/// How long a sync may go on after shutdown was asked for before it is
/// abandoned (its nudge is then redelivered; the sync is idempotent).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How far another host's clock may be behind this one's before a nudge
/// from it could be dropped although the last sync missed its change (the
/// change would then wait for the next nudge or the scheduler).
const CLOCK_SKEW_ALLOWANCE_MS: i64 = 1_000;

/// What ends a consumer.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("broker error: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker cancelled the consumer")]
    Cancelled,
}

/// What to tell the broker about a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settle {
    /// Done with it (`result` is the metric label).
    Ack(&'static str),
    /// Give it back for another consumer (shutdown).
    Requeue,
    /// Poison: to the dead-letter queue.
    DeadLetter,
}

/// Consumes one store's queue until stopped.
pub struct StoreConsumer {
    ctx: SyncContext,
    store: StoreClient,
    topology: BrokerTopology,
    channel: Channel,
    stop: CancellationToken,
    /// Unix ms when the last complete sync started.
    last_complete_sync_ms: Option<i64>,
    /// When the retry this consumer last published comes back.
    retry_due: Option<Instant>,
}

impl StoreConsumer {
    /// A consumer of `store`'s queue on `channel` (its own channel).
    pub fn new(
        ctx: SyncContext,
        store: StoreClient,
        topology: BrokerTopology,
        channel: Channel,
        stop: CancellationToken,
    ) -> Self {
        Self {
            ctx,
            store,
            topology,
            channel,
            stop,
            last_complete_sync_ms: None,
            retry_due: None,
        }
    }

    /// Consumes until `stop` is cancelled (`Ok`) or the consumer is lost
    /// beyond lapin's recovery (`Err`; the caller reconnects).
    #[tracing::instrument(name = "consume", skip_all, fields(store_id = %self.store.id()))]
    pub async fn run(mut self) -> Result<(), ConsumerError> {
        self.channel
            .basic_qos(1, BasicQosOptions::default())
            .await?;
        self.channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let queue = self.topology.names().store_queue(self.store.id().as_str());
        let tag = format!("sync-worker-{}-{}", self.store.id(), uuid::Uuid::new_v4());
        let mut deliveries = self
            .channel
            .basic_consume(
                queue.as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tracing::info!(queue = %queue, "consuming");
        loop {
            let next = tokio::select! {
                biased;
                () = self.stop.cancelled() => break,
                next = deliveries.next() => next,
            };
            match next {
                Some(Ok(delivery)) => self.handle(delivery).await,
                Some(Err(error)) => {
                    tracing::warn!(%error, "lost the broker; waiting for lapin to recover");
                    tokio::select! {
                        () = self.stop.cancelled() => break,
                        recovered = self.channel.wait_for_recovery(error) => recovered?,
                    }
                    tracing::info!("consumer recovered");
                }
                None => return Err(ConsumerError::Cancelled),
            }
        }
        if let Err(error) = self
            .channel
            .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
            .await
        {
            tracing::debug!(%error, "could not cancel the consumer; closing the connection will");
        }
        Ok(())
    }

    /// Runs the sync a delivery asks for and settles the delivery.
    async fn handle(&mut self, delivery: Delivery) {
        let headers = delivery.properties.headers().as_ref();
        let settle = match message::read(self.store.id(), &delivery.data, headers) {
            Err(poison) => {
                tracing::error!(%poison, routing_key = %delivery.routing_key, "poison message; dead-lettering it");
                Settle::DeadLetter
            }
            Ok(nudge) if self.is_redundant(&nudge) => Settle::Ack("coalesced"),
            Ok(nudge) => self.sync(nudge).await,
        };
        self.settle(&delivery, settle).await;
    }

    fn is_redundant(&self, nudge: &Nudge) -> bool {
        covered_by_sync(nudge.nudged_at_ms, self.last_complete_sync_ms)
    }

    async fn sync(&mut self, nudge: Nudge) -> Settle {
        let started_ms = unix_ms_now();
        let run = SyncRun {
            attempt: nudge.attempt,
            stop: self.stop.clone(),
        };
        let stop = self.stop.clone();
        let result = tokio::select! {
            result = sync_store_with(&self.ctx, &self.store, &run) => result,
            () = async move {
                stop.cancelled().await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => {
                tracing::warn!("shutdown: abandoning the sync in progress; its nudge goes back to the queue");
                return Settle::Requeue;
            }
        };
        match result {
            Ok(report) if report.interrupted => Settle::Requeue,
            Ok(report) if report.deferred == 0 => {
                self.last_complete_sync_ms = Some(started_ms);
                self.retry_due = None;
                Settle::Ack("acked")
            }
            Ok(_) | Err(_) => self.schedule_retry(nudge.attempt.saturating_add(1)).await,
        }
    }

    /// Publishes the nudge to the retry level of `attempt`, unless a retry
    /// from this consumer is already on its way.
    async fn schedule_retry(&mut self, attempt: u32) -> Settle {
        let now = Instant::now();
        if self.retry_due.is_some_and(|due| due > now) {
            tracing::debug!("a retry is already scheduled");
            return Settle::Ack("coalesced");
        }
        let delay = self.ctx.retry.delay(attempt);
        let names = self.topology.names();
        let properties = message::properties(unix_ms_now(), Some((attempt, delay)));
        match bus::publish(
            &self.channel,
            &names.retry_exchange(),
            self.store.id().as_str(),
            properties,
        )
        .await
        {
            Ok(()) => {
                tracing::info!(
                    attempt,
                    retry_in_ms = delay.as_millis() as u64,
                    "sync retry scheduled"
                );
                self.retry_due = Some(now + delay);
                Settle::Ack("retried")
            }
            Err(error) => {
                // Without a retry on its way the nudge must stay: requeue it,
                // after a pause so a broken broker is not hammered.
                tracing::warn!(%error, "could not schedule a retry; requeueing the nudge");
                tokio::select! {
                    () = self.stop.cancelled() => {}
                    () = tokio::time::sleep(delay.min(Duration::from_secs(5))) => {}
                }
                Settle::Requeue
            }
        }
    }

    async fn settle(&self, delivery: &Delivery, settle: Settle) {
        let (result, label) = match settle {
            Settle::Ack(label) => (delivery.acker.ack(BasicAckOptions::default()).await, label),
            Settle::Requeue => {
                let options = BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                };
                (delivery.acker.nack(options).await, "requeued")
            }
            Settle::DeadLetter => {
                let options = BasicRejectOptions { requeue: false };
                (delivery.acker.reject(options).await, "dead_lettered")
            }
        };
        self.ctx.metrics.messages.with_label_values(&[label]).inc();
        // A delivery from before a reconnection cannot be settled: the
        // broker delivers it again and the sync, being idempotent, runs once
        // more.
        match result {
            Ok(true) => {}
            Ok(false) => tracing::info!(
                result = label,
                "delivery predates a reconnection; it will be redelivered"
            ),
            Err(error) => {
                tracing::warn!(%error, result = label, "could not settle the delivery; it will be redelivered")
            }
        }
    }
}

/// Whether a nudge sent at `nudged_at_ms` asks for nothing the complete sync
/// that started at `sync_started_ms` did not do: publishers nudge after
/// committing, and a sync reads everything committed before it started.
/// Publishers' clocks may be behind ours by up to
/// [`CLOCK_SKEW_ALLOWANCE_MS`].
fn covered_by_sync(nudged_at_ms: Option<i64>, sync_started_ms: Option<i64>) -> bool {
    matches!(
        (nudged_at_ms, sync_started_ms),
        (Some(sent), Some(started)) if sent.saturating_add(CLOCK_SKEW_ALLOWANCE_MS) < started
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nudge_sent_well_before_a_complete_sync_started_is_covered() {
        assert!(covered_by_sync(Some(10_000), Some(12_000)));
    }

    #[test]
    fn a_nudge_within_the_clock_allowance_of_the_sync_start_runs() {
        assert!(!covered_by_sync(Some(10_000), Some(10_500)));
        assert!(!covered_by_sync(Some(10_000), Some(11_000)));
        assert!(!covered_by_sync(Some(12_000), Some(10_000)));
    }

    #[test]
    fn a_nudge_runs_when_either_time_is_unknown() {
        assert!(!covered_by_sync(None, Some(12_000)));
        assert!(!covered_by_sync(Some(10_000), None));
    }
}
