//! The store's Prometheus metrics: HTTP (from service-infra), changes by
//! result, sync outcomes, the pending queue and its oldest entry (sync lag).
//! Propagation latency is measured by the worker, which sees both ends.

use std::time::Duration;

use prometheus::{Gauge, Histogram, IntCounterVec, IntGauge};
use service_infra::metrics::ServiceMetrics;
use sqlx::PgPool;

/// Every metric the store exports, on one registry.
#[derive(Clone)]
pub struct StoreMetrics {
    /// HTTP and token metrics (`store_tokens_issued_total{role}`,
    /// `store_token_failures_total{reason}`) and the registry `/metrics`
    /// exports.
    pub service: ServiceMetrics,
    /// Local updates by result: `accepted`, `replayed`, or the error code.
    pub changes: IntCounterVec,
    /// Physical counts by result: `differed`, `matched`, `replayed`, or the
    /// error code.
    pub counts: IntCounterVec,
    /// Accepted local changes by kind (`sale`, `receipt`, …).
    pub kinds: IntCounterVec,
    /// Sync outcomes recorded: `synced`, `rejected`.
    pub sync_outcomes: IntCounterVec,
    /// Changes central has not answered yet.
    pub pending: IntGauge,
    /// Age of the oldest pending change: how far central lags this store.
    pub oldest_pending_age: Gauge,
    /// Local changes per group commit (one statement and one commit each).
    pub group_commit_changes: Histogram,
}

impl StoreMetrics {
    /// Creates and registers the metrics.
    pub fn new() -> prometheus::Result<Self> {
        let service = ServiceMetrics::new("store")?;
        let metrics = service.registrar();
        Ok(Self {
            changes: metrics.counter_vec(
                "store_changes_total",
                "Local stock updates by result",
                &["result"],
            )?,
            counts: metrics.counter_vec(
                "store_counts_total",
                "Physical counts by result (differed, matched, replayed or the error code)",
                &["result"],
            )?,
            kinds: metrics.counter_vec(
                "store_changes_by_kind_total",
                "Local changes accepted, by kind (sale, return, receipt, damage, adjustment, …)",
                &["kind"],
            )?,
            sync_outcomes: metrics.counter_vec(
                "store_sync_outcomes_total",
                "Central's answers recorded, by outcome",
                &["outcome"],
            )?,
            pending: metrics.int_gauge("store_pending_changes", "Changes waiting for central")?,
            oldest_pending_age: metrics.gauge(
                "store_oldest_pending_age_seconds",
                "Age of the oldest change waiting for central (sync lag)",
            )?,
            group_commit_changes: metrics.histogram(
                "store_group_commit_changes",
                "Local changes written per group commit (one statement and one commit)",
                &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0],
            )?,
            service,
        })
    }

    /// Refreshes the pending-queue gauges from the database every few
    /// seconds, until the process ends.
    pub fn spawn_pending_refresher(&self, pool: PgPool) {
        let (pending, oldest) = (self.pending.clone(), self.oldest_pending_age.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                match crate::projections::queries::pending_summary(&pool).await {
                    Ok((count, age)) => {
                        pending.set(count);
                        oldest.set(age);
                    }
                    Err(error) => tracing::warn!(%error, "could not refresh pending gauges"),
                }
            }
        });
    }
}
