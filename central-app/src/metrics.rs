//! Central's Prometheus metrics: HTTP (from service-infra), changes by
//! outcome and kind, transfer steps, batch sizes and token issuance.

use prometheus::{Histogram, IntCounterVec};
use service_infra::metrics::ServiceMetrics;

use domain::ChangeKind;
use domain::central::Outcome;

use crate::ledger::{Change, Decision};

/// Batch size buckets, from a single change to the largest batch accepted.
const BATCH_BUCKETS: &[f64] = &[1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

/// Every metric central exports, on one registry.
#[derive(Clone)]
pub struct CentralMetrics {
    /// HTTP and token metrics (`central_tokens_issued_total{role}`,
    /// `central_token_failures_total{reason}`) and the registry `/metrics`
    /// exports.
    pub service: ServiceMetrics,
    /// `central_sync_batch_size`: changes per pushed batch.
    batch_size: Histogram,
    /// `central_changes_total{outcome}`; replays count as `replayed`.
    changes: IntCounterVec,
    /// `central_changes_by_kind_total{kind}`: applied changes by kind.
    kinds: IntCounterVec,
    /// `central_transfer_steps_total{step}`: transfer steps recorded
    /// (`requested`, `cancelled`, `shipped`, `received`).
    pub transfer_steps: IntCounterVec,
    /// `central_holds_ended_total{status}`: holds that ended, by how
    /// (`fulfilled`, `released`, `expired`, `short`).
    pub holds_ended: IntCounterVec,
    /// `central_events_published_total{event}`: outbox messages the broker
    /// confirmed (`stock.low`, `stock.restored`).
    pub events_published: IntCounterVec,
}

impl CentralMetrics {
    /// Creates and registers the metrics.
    pub fn new() -> prometheus::Result<Self> {
        let service = ServiceMetrics::new("central")?;
        let metrics = service.registrar();
        let batch_size = metrics.histogram(
            "central_sync_batch_size",
            "Changes per sync batch.",
            BATCH_BUCKETS,
        )?;
        let changes = metrics.counter_vec(
            "central_changes_total",
            "Changes decided by central, by outcome (replays counted as `replayed`).",
            &["outcome"],
        )?;
        let kinds = metrics.counter_vec(
            "central_changes_by_kind_total",
            "Changes applied by central, by kind (sale, return, receipt, damage, adjustment, …).",
            &["kind"],
        )?;
        let transfer_steps = metrics.counter_vec(
            "central_transfer_steps_total",
            "Transfer steps recorded, by step (requested, cancelled, shipped, received).",
            &["step"],
        )?;
        let holds_ended = metrics.counter_vec(
            "central_holds_ended_total",
            "Holds that ended, by how (fulfilled, released, expired, short).",
            &["status"],
        )?;
        let events_published = metrics.counter_vec(
            "central_events_published_total",
            "Outbox messages the broker confirmed, by event (stock.low, stock.restored).",
            &["event"],
        )?;
        Ok(Self {
            service,
            batch_size,
            changes,
            kinds,
            transfer_steps,
            holds_ended,
            events_published,
        })
    }

    /// Counts committed decisions, and the changes newly applied by kind
    /// (`changes` and `decisions` in the same order).
    pub fn record_decisions(&self, changes: &[Change], decisions: &[Decision]) {
        for (change, decision) in changes.iter().zip(decisions) {
            let label = if decision.replayed {
                "replayed"
            } else {
                decision.outcome.code()
            };
            self.changes.with_label_values(&[label]).inc();
            if decision.outcome == Outcome::Applied && !decision.replayed {
                let kind = change.kind.as_str();
                self.kinds.with_label_values(&[kind]).inc();
                let step = match change.kind {
                    ChangeKind::TransferOut => "shipped",
                    ChangeKind::TransferIn => "received",
                    _ => continue,
                };
                if change.transfer.is_some() {
                    self.transfer_steps.with_label_values(&[step]).inc();
                }
            }
        }
    }

    /// Records the size of a pushed batch.
    pub fn observe_batch(&self, size: usize) {
        #[allow(clippy::cast_precision_loss)]
        self.batch_size.observe(size as f64);
    }
}
