//! Central's Prometheus metrics: HTTP (from service-infra), changes by
//! outcome, batch sizes and token issuance.

use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts, Registry};
use service_infra::HttpMetrics;
use service_infra::auth::Role;

use crate::ledger::Decision;

/// Batch size buckets, from a single change to the largest batch accepted.
const BATCH_BUCKETS: &[f64] = &[1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

/// Every metric central exports, on one registry.
#[derive(Clone)]
pub struct CentralMetrics {
    pub registry: Registry,
    pub http: HttpMetrics,
    /// `central_changes_total{outcome}`; replays count as `replayed`.
    changes: IntCounterVec,
    /// `central_sync_batch_size`: changes per pushed batch.
    batch_size: Histogram,
    /// `central_tokens_issued_total{role}`.
    tokens_issued: IntCounterVec,
    /// `central_token_failures_total{reason}`.
    token_failures: IntCounterVec,
}

impl CentralMetrics {
    /// Creates and registers the metrics.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let http = HttpMetrics::new(&registry)?;
        let changes = IntCounterVec::new(
            Opts::new(
                "central_changes_total",
                "Changes decided by central, by outcome (replays counted as `replayed`).",
            ),
            &["outcome"],
        )?;
        let batch_size = Histogram::with_opts(
            HistogramOpts::new("central_sync_batch_size", "Changes per sync batch.")
                .buckets(BATCH_BUCKETS.to_vec()),
        )?;
        let tokens_issued = IntCounterVec::new(
            Opts::new(
                "central_tokens_issued_total",
                "Access tokens issued, by role.",
            ),
            &["role"],
        )?;
        let token_failures = IntCounterVec::new(
            Opts::new(
                "central_token_failures_total",
                "Token requests refused, by reason.",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(changes.clone()))?;
        registry.register(Box::new(batch_size.clone()))?;
        registry.register(Box::new(tokens_issued.clone()))?;
        registry.register(Box::new(token_failures.clone()))?;
        Ok(Self {
            registry,
            http,
            changes,
            batch_size,
            tokens_issued,
            token_failures,
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

    /// Counts an issued token.
    pub fn token_issued(&self, role: Role) {
        self.tokens_issued.with_label_values(&[role.as_str()]).inc();
    }

    /// Counts a refused token request.
    pub fn token_failed(&self, reason: &str) {
        self.token_failures.with_label_values(&[reason]).inc();
    }
}
