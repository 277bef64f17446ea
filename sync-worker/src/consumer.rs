//! Consuming one store's queue: each nudge runs one sync of that store.
//!
//! - Prefetch 1 on the store's own channel, and the queue's single active
//!   consumer, so at most one sync of a store runs across every replica.
//! - A nudge is acked only once the sync's work is recorded at the store.
//! - A failed sync (or one that left changes for later) publishes the nudge
//!   to the retry exchange with the next backoff level, then acks it.
//! - While syncs of the store fail (central down, say), fresh nudges are
//!   acked as coalesced until the scheduled retry comes back: one attempt
//!   (and at most one token fetch) per backoff step, not one per nudge.
//!   The failure is logged once when it starts and once when syncs work
//!   again; `sync_runs_total` and `sync_messages_total` keep counting.
//! - Poison (a body that names no store, or another store) is rejected to
//!   the dead-letter queue.
//! - On shutdown the sync stops after the batch in hand (or is abandoned
//!   after a grace period) and its nudge goes back to the queue unacked.
//!
//! Duplicate nudges are harmless, and most are not even run: the nudges
//! already waiting in the queue when a complete sync started are acked as
//! coalesced. Every publisher nudges after committing and a sync reads what
//! was committed before it started, so that sync covered them; the queue is
//! first in, first out, so they are the next deliveries. No clocks are
//! compared.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::Channel;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    BasicRejectOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::bus;
use crate::message::{self, Nudge};
use crate::store_client::StoreClient;
use crate::sync::{SyncContext, SyncError, SyncRun, sync_store_with};
use crate::topology::BrokerTopology;

/// How long a sync may go on after shutdown was asked for before it is
/// abandoned (its nudge is then redelivered; the sync is idempotent).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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
    /// Deliveries still to ack without a sync (see the module comment).
    covered: CoveredNudges,
    /// When the retry this consumer last published comes back.
    retry_due: Option<Instant>,
    /// Since when, and how often, syncs of this store have failed.
    failing: Option<Failing>,
}

/// A run of failed syncs of one store.
#[derive(Debug, Clone, Copy)]
struct Failing {
    since: Instant,
    failures: u32,
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
            covered: CoveredNudges::default(),
            retry_due: None,
            failing: None,
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
        let covered = self.covered.take();
        let settle = match message::read(self.store.id(), &delivery.data, headers) {
            Err(poison) => {
                tracing::error!(%poison, routing_key = %delivery.routing_key, "poison message; dead-lettering it");
                Settle::DeadLetter
            }
            Ok(_) if covered => Settle::Ack("coalesced"),
            Ok(nudge) => self.sync(nudge).await,
        };
        self.settle(&delivery, settle).await;
    }

    /// Nudges waiting behind the one in hand (0 when the broker does not
    /// say, which only costs syncs).
    async fn waiting_nudges(&self) -> u32 {
        let queue = self.topology.names().store_queue(self.store.id().as_str());
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        match self
            .channel
            .queue_declare(queue.as_str().into(), options, FieldTable::default())
            .await
        {
            Ok(queue) => queue.message_count(),
            Err(error) => {
                tracing::debug!(%error, "could not count the waiting nudges");
                0
            }
        }
    }

    async fn sync(&mut self, nudge: Nudge) -> Settle {
        if self.backing_off(&nudge) {
            return Settle::Ack("coalesced");
        }
        // Counted before the sync reads anything: every nudge counted was
        // published after its change committed, so the sync sees the change.
        let waiting = self.waiting_nudges().await;
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
        match &result {
            Ok(_) => self.recovered(),
            Err(error) => self.failed(error),
        }
        match result {
            Ok(report) if report.interrupted => Settle::Requeue,
            Ok(report) if report.done() => {
                self.covered.cover(waiting);
                self.retry_due = None;
                Settle::Ack("acked")
            }
            Ok(_) | Err(_) => self.schedule_retry(nudge.attempt.saturating_add(1)).await,
        }
    }

    /// Whether to leave a fresh nudge to the retry already scheduled after
    /// a failed sync: it will sync everything committed before it.
    fn backing_off(&self, nudge: &Nudge) -> bool {
        nudge.attempt == 0
            && self.failing.is_some()
            && self.retry_due.is_some_and(|due| due > Instant::now())
    }

    /// Counts a failed sync; logs the first of a run.
    fn failed(&mut self, error: &SyncError) {
        match &mut self.failing {
            Some(failing) => {
                failing.failures += 1;
                tracing::debug!(%error, failures = failing.failures, "sync failed again");
            }
            None => {
                self.failing = Some(Failing {
                    since: Instant::now(),
                    failures: 1,
                });
                if error.is_transient() {
                    tracing::warn!(%error, "syncs of this store fail; backing off until they work again");
                } else {
                    tracing::error!(%error, "syncs of this store fail and need attention; backing off");
                }
            }
        }
    }

    /// Ends a run of failed syncs, logging it.
    fn recovered(&mut self) {
        if let Some(failing) = self.failing.take() {
            tracing::info!(
                failures = failing.failures,
                failing_for_ms = failing.since.elapsed().as_millis() as u64,
                "syncs of this store work again"
            );
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
        let properties = message::properties(Some((attempt, delay)));
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

/// How many of the next deliveries a complete sync already covered.
#[derive(Debug, Default)]
struct CoveredNudges(u32);

impl CoveredNudges {
    /// The next `waiting` deliveries are covered.
    fn cover(&mut self, waiting: u32) {
        self.0 = waiting;
    }

    /// Whether the delivery in hand is covered; counts it either way, poison
    /// included, since the count is of deliveries.
    fn take(&mut self) -> bool {
        let covered = self.0 > 0;
        self.0 = self.0.saturating_sub(1);
        covered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_nudges_waiting_at_the_start_of_a_complete_sync_are_covered() {
        let mut covered = CoveredNudges::default();
        assert!(!covered.take(), "nothing is covered before a sync");
        covered.cover(2);
        assert!(covered.take());
        assert!(covered.take());
        assert!(
            !covered.take(),
            "a nudge queued after the count runs a sync"
        );
    }
}
