//! The worker's Prometheus metrics, served on `METRICS_ADDR` at `/metrics`.

use prometheus::{Histogram, IntCounter, IntCounterVec, Registry};
use service_infra::metrics::Registrar;

/// Changes per pushed batch.
const BATCH_BUCKETS: &[f64] = &[1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];
/// Seconds, for sync durations and propagation latency.
const SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
];

/// Every metric the worker exports, on one registry. Cheap to clone.
#[derive(Clone)]
pub struct WorkerMetrics {
    /// The registry `/metrics` renders.
    pub registry: Registry,
    /// `sync_runs_total{outcome}`: `ok`, `deferred` (changes left for a
    /// retry), `incomplete` (central's log read short; retried), `failed`
    /// or `interrupted` (shutdown).
    pub runs: IntCounterVec,
    /// `sync_changes_total{outcome}`: central's answers by outcome, plus
    /// `failed` for changes of a batch that could not be pushed,
    /// `quarantined` for changes central refuses in any batch, and `pulled`
    /// for central changes applied at a store.
    pub changes: IntCounterVec,
    /// `sync_batch_size`: changes per pushed batch.
    pub batch_size: Histogram,
    /// `sync_duration_seconds`: one sync of one store, push and pull.
    pub duration: Histogram,
    /// `sync_propagation_latency_seconds`: from the change at the store
    /// (`occurred_at`) to central's answer that it applied it.
    pub propagation: Histogram,
    /// `token_fetches_total`: access tokens requested from central.
    pub token_fetches: IntCounter,
    /// `sync_messages_total{result}`: what became of each broker message:
    /// `acked`, `coalesced`, `retried`, `requeued` or `dead_lettered`.
    pub messages: IntCounterVec,
    /// `sync_schedule_nudges_total{result}`: scheduler nudges `published`,
    /// `skipped` (the store's queue was not empty) or `failed`.
    pub schedule_nudges: IntCounterVec,
}

impl WorkerMetrics {
    /// Creates the metrics on a fresh registry.
    pub fn new() -> prometheus::Result<Self> {
        let metrics = Registrar::new();
        Ok(Self {
            runs: metrics.counter_vec(
                "sync_runs_total",
                "Syncs of one store, by outcome.",
                &["outcome"],
            )?,
            changes: metrics.counter_vec(
                "sync_changes_total",
                "Changes handled by the sync, by outcome.",
                &["outcome"],
            )?,
            messages: metrics.counter_vec(
                "sync_messages_total",
                "Broker messages handled, by what became of them.",
                &["result"],
            )?,
            schedule_nudges: metrics.counter_vec(
                "sync_schedule_nudges_total",
                "Nudges of the scheduler, by result.",
                &["result"],
            )?,
            batch_size: metrics.histogram(
                "sync_batch_size",
                "Changes per pushed batch.",
                BATCH_BUCKETS,
            )?,
            duration: metrics.histogram(
                "sync_duration_seconds",
                "Duration of one sync of one store, in seconds.",
                SECONDS_BUCKETS,
            )?,
            propagation: metrics.histogram(
                "sync_propagation_latency_seconds",
                "From a change at a store to central applying it, in seconds.",
                SECONDS_BUCKETS,
            )?,
            token_fetches: metrics
                .counter("token_fetches_total", "Access tokens fetched from central.")?,
            registry: metrics.registry,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_exported_under_its_documented_name() {
        let metrics = WorkerMetrics::new().expect("metrics register");
        metrics.runs.with_label_values(&["ok"]).inc();
        metrics.changes.with_label_values(&["applied"]).inc();
        metrics.messages.with_label_values(&["acked"]).inc();
        metrics
            .schedule_nudges
            .with_label_values(&["published"])
            .inc();
        let names: Vec<String> = metrics
            .registry
            .gather()
            .iter()
            .map(|family| family.name().to_owned())
            .collect();
        for expected in [
            "sync_runs_total",
            "sync_changes_total",
            "sync_batch_size",
            "sync_duration_seconds",
            "sync_propagation_latency_seconds",
            "token_fetches_total",
            "sync_messages_total",
            "sync_schedule_nudges_total",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing from {names:?}"
            );
        }
    }
}
