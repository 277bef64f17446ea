//! Central's Prometheus metrics: HTTP (from service-infra), changes by
//! outcome, batch sizes and token issuance.

use prometheus::{Histogram, IntCounterVec};
use service_infra::HttpMetrics;
use service_infra::auth::issuing::TokenMetrics;
use service_infra::metrics::Registrar;

use crate::ledger::Decision;

/// Batch size buckets, from a single change to the largest batch accepted.
const BATCH_BUCKETS: &[f64] = &[1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

/// Every metric central exports, on one registry.
#[derive(Clone)]
pub struct CentralMetrics {
    /// HTTP metrics, and the registry `/metrics` exports.
    pub http: HttpMetrics,
    /// `central_changes_total{outcome}`; replays count as `replayed`.
    changes: IntCounterVec,
    /// `central_sync_batch_size`: changes per pushed batch.
    batch_size: Histogram,
    /// `central_tokens_issued_total{role}`, `central_token_failures_total{reason}`.
    pub tokens: TokenMetrics,
}

impl CentralMetrics {
    /// Creates and registers the metrics.
    pub fn new() -> prometheus::Result<Self> {
        let metrics = Registrar::new();
        Ok(Self {
            http: HttpMetrics::new(&metrics.registry)?,
            changes: metrics.counter_vec(
                "central_changes_total",
                "Changes decided by central, by outcome (replays counted as `replayed`).",
                &["outcome"],
            )?,
            batch_size: metrics.histogram(
                "central_sync_batch_size",
                "Changes per sync batch.",
                BATCH_BUCKETS,
            )?,
            tokens: TokenMetrics::new(&metrics, "central")?,
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
