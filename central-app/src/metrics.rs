//! Central's Prometheus metrics: HTTP (from service-infra), changes by
//! outcome, batch sizes and token issuance.

use prometheus::{Histogram, IntCounterVec};
use service_infra::metrics::ServiceMetrics;

use crate::ledger::Decision;

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
        Ok(Self {
            service,
            batch_size,
            changes,
        })
    }

    /// Counts committed decisions.
    pub fn record_decisions(&self, decisions: &[Decision]) {
        for decision in decisions {
            let label = if decision.replayed {
                "replayed"
            } else {
                decision.outcome.code()
            };
            self.changes.with_label_values(&[label]).inc();
        }
    }

    /// Records the size of a pushed batch.
    pub fn observe_batch(&self, size: usize) {
        #[allow(clippy::cast_precision_loss)]
        self.batch_size.observe(size as f64);
    }
}
