//! One sync of one store, callable on its own (`sync-worker sync-once`, the
//! consumer, tests): push the store's pending changes to central in order
//! and in batches, record each answer at the store, then pull the changes
//! central made to the store since its checkpoint and apply them there.
//!
//! Every step is idempotent at central (by operation id) and at the store,
//! so a sync cut short anywhere (crash, SIGKILL, lost ack) is simply run
//! again: nothing is applied twice and nothing is lost.

mod pull;
mod push;
mod transfers;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use domain::StoreId;
use serde::Serialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::central_client::CentralClient;
use crate::config::WorkerConfig;
use crate::http::{self, CallError, endpoint};
use crate::metrics::WorkerMetrics;
use crate::retry::RetryPolicy;
use crate::store_client::{StoreClient, StoreError};
use crate::token::TokenSource;

pub use pull::central_changes;

/// What a sync needs: clients for central and every configured store, the
/// batch size, the retry policy (for `next_attempt_at`) and the metrics.
/// Cheap to clone.
#[derive(Clone)]
pub struct SyncContext {
    pub central: CentralClient,
    stores: Arc<BTreeMap<StoreId, StoreClient>>,
    pub batch_size: u32,
    pub retry: RetryPolicy,
    pub metrics: WorkerMetrics,
}

impl SyncContext {
    /// Builds the HTTP clients of `config`, sharing one token source.
    pub fn from_config(config: &WorkerConfig, metrics: WorkerMetrics) -> anyhow::Result<Self> {
        let client = http::client(config.http_timeout.into())?;
        let tokens = TokenSource::new(
            client.clone(),
            endpoint(&config.central_url, "auth/token")?,
            config.client_id.clone(),
            config.client_secret.clone(),
            metrics.token_fetches.clone(),
        );
        let central = CentralClient::new(client.clone(), &config.central_url, tokens.clone())?;
        let stores = config
            .stores
            .iter()
            .map(|store| {
                Ok((
                    store.id.clone(),
                    StoreClient::new(client.clone(), store, tokens.clone())?,
                ))
            })
            .collect::<anyhow::Result<BTreeMap<_, _>>>()?;
        Ok(Self {
            central,
            stores: Arc::new(stores),
            batch_size: config.batch_size,
            retry: RetryPolicy::new(
                config.retry_base_delay.into(),
                config.retry_max_delay.into(),
            ),
            metrics,
        })
    }

    /// The configured store with this id.
    pub fn store(&self, id: &StoreId) -> Option<&StoreClient> {
        self.stores.get(id)
    }

    /// Every configured store.
    pub fn stores(&self) -> impl Iterator<Item = &StoreClient> {
        self.stores.values()
    }
}

/// How this sync was asked for.
#[derive(Debug, Clone, Default)]
pub struct SyncRun {
    /// Retries of the nudge so far (0 for a fresh one); sets the time of
    /// the next attempt recorded with a failure.
    pub attempt: u32,
    /// When cancelled, the sync stops after the batch in hand is recorded.
    pub stop: CancellationToken,
}

/// What one sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    pub store_id: String,
    /// Batches pushed to central.
    pub batches: usize,
    /// Changes pushed (a change pushed again after a crash counts again).
    pub pushed: usize,
    /// Changes central applied.
    pub applied: usize,
    /// Changes central refused for good (`version_conflict`, `insufficient_stock`).
    pub rejected: usize,
    /// Changes left pending for a retry (`version_ahead`, or an answer that
    /// needs an operator: `operation_id_reused`, `sku_not_found`).
    pub deferred: usize,
    /// Changes set aside because central refuses any batch holding them.
    pub quarantined: usize,
    /// Events the store appended for central's changes.
    pub pulled: u64,
    /// Transfer copies the store saved (new or newer).
    pub transfers: u64,
    /// The store's checkpoint in central's log after the pull.
    pub checkpoint: Option<protocol::LogCursor>,
    /// Stopped early by shutdown; the rest is left for the next sync.
    pub interrupted: bool,
    /// Central's log could not be read to the end of what was committed
    /// when the sync started (older transactions kept running): retried.
    pub incomplete: bool,
    pub duration_ms: u64,
}

impl SyncReport {
    /// Whether the sync left nothing for a retry.
    pub fn done(&self) -> bool {
        !self.interrupted && !self.incomplete && self.deferred == 0
    }

    /// `ok`, `deferred`, `incomplete` or `interrupted`, as counted in
    /// `sync_runs_total`.
    pub fn outcome(&self) -> &'static str {
        if self.interrupted {
            "interrupted"
        } else if self.incomplete {
            "incomplete"
        } else if self.deferred > 0 {
            "deferred"
        } else {
            "ok"
        }
    }
}

/// Why a sync stopped before it was done. Always worth retrying later; the
/// changes of the batch in hand stay pending at the store.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

impl SyncError {
    /// Whether the failure should pass by itself (a service down, a
    /// timeout) rather than need an operator (a refused client, a bug).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Call(error) | Self::Store(StoreError::Call(error)) => error.is_transient(),
            Self::Store(StoreError::WrongStore { .. }) | Self::Protocol(_) => false,
        }
    }
}

/// One sync of `store`, fresh and without a stop signal.
pub async fn sync_store(ctx: &SyncContext, store: &StoreClient) -> Result<SyncReport, SyncError> {
    sync_store_with(ctx, store, &SyncRun::default()).await
}

/// One sync of `store`: push, then pull (the pull is skipped when the push
/// failed or was interrupted).
#[tracing::instrument(name = "sync", skip_all, fields(store_id = %store.id(), attempt = run.attempt))]
pub async fn sync_store_with(
    ctx: &SyncContext,
    store: &StoreClient,
    run: &SyncRun,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let mut report = SyncReport {
        store_id: store.id().to_string(),
        ..SyncReport::default()
    };
    let result = async {
        let mut recorded = HashSet::new();
        push::push(ctx, store, run, &mut report, &mut recorded).await?;
        if !report.interrupted {
            pull::pull(ctx, store, run, &mut report, &recorded).await?;
            transfers::pull_transfers(ctx, store, &mut report).await?;
        }
        Ok::<(), SyncError>(())
    }
    .await;
    let elapsed = started.elapsed();
    report.duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    ctx.metrics.duration.observe(elapsed.as_secs_f64());
    match result {
        Ok(()) => {
            ctx.metrics
                .runs
                .with_label_values(&[report.outcome()])
                .inc();
            log_report(&report, elapsed);
            Ok(report)
        }
        Err(error) => {
            ctx.metrics.runs.with_label_values(&["failed"]).inc();
            // The caller logs a run of failures once (the consumer) or
            // reports the error (sync-once).
            tracing::debug!(error = %error, pushed = report.pushed, "sync failed");
            Err(error)
        }
    }
}

fn log_report(report: &SyncReport, elapsed: Duration) {
    if report.pushed == 0 && report.pulled == 0 && report.transfers == 0 && report.outcome() == "ok"
    {
        tracing::debug!(
            duration_ms = elapsed.as_millis() as u64,
            "sync found nothing to do"
        );
        return;
    }
    tracing::info!(
        outcome = report.outcome(),
        batches = report.batches,
        pushed = report.pushed,
        applied = report.applied,
        rejected = report.rejected,
        deferred = report.deferred,
        quarantined = report.quarantined,
        pulled = report.pulled,
        transfers = report.transfers,
        duration_ms = elapsed.as_millis() as u64,
        "sync done"
    );
}
