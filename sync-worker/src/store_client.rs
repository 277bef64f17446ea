//! One store's worker endpoints (`/v1/sync/...` of `store-app`): read the
//! pending changes, record central's answers and transient failures, and
//! apply central's changes with the store's checkpoint in central's log.
//! Every write there is idempotent, so any call may be repeated.

use chrono::{DateTime, Utc};
use domain::StoreId;
use reqwest::{Client, Url};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::StoreEndpoint;
use crate::http::{CallError, call, endpoint};
use crate::token::TokenSource;

/// A change waiting for central, in the store's log order.
#[derive(Debug, Clone, Deserialize)]
pub struct PendingChange {
    pub operation_id: Uuid,
    pub sku: String,
    pub delta: i64,
    pub expected_version: Option<i64>,
    pub occurred_at: DateTime<Utc>,
    /// Failed attempts so far.
    #[serde(default)]
    pub attempts: i32,
}

#[derive(Deserialize)]
struct PendingPage {
    store_id: String,
    changes: Vec<PendingChange>,
}

/// Central's final answer to one change: `applied`, `version_conflict` or
/// `insufficient_stock`, with central's version and quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub operation_id: Uuid,
    pub sku: String,
    pub outcome: String,
    pub version: i64,
    pub quantity: i64,
}

/// A change central made to one of the store's SKUs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CentralChange {
    pub operation_id: Uuid,
    pub sku: String,
    pub delta: i64,
    pub version: i64,
    pub quantity: i64,
}

#[derive(Serialize)]
struct OutcomesBody<'a> {
    outcomes: &'a [Outcome],
}

#[derive(Serialize)]
struct FailureBody<'a> {
    operation_ids: &'a [Uuid],
    error: &'a str,
    next_attempt_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct CentralChangesBody<'a> {
    changes: &'a [CentralChange],
    checkpoint: &'a str,
}

#[derive(Deserialize)]
struct Recorded {
    recorded: usize,
}

#[derive(Deserialize)]
struct Checkpoint {
    cursor: Option<String>,
}

/// Why a store's answer cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("the store at {url} says it is {answered}, but it is configured as {configured}")]
    WrongStore {
        url: String,
        configured: StoreId,
        answered: String,
    },
}

/// Talks to one store. Cheap to clone.
#[derive(Clone)]
pub struct StoreClient {
    id: StoreId,
    base: Url,
    service: String,
    http: Client,
    tokens: TokenSource,
    pending_url: Url,
    outcomes_url: Url,
    failures_url: Url,
    checkpoint_url: Url,
    central_changes_url: Url,
}

impl StoreClient {
    /// A client for the configured `store`.
    pub fn new(http: Client, store: &StoreEndpoint, tokens: TokenSource) -> anyhow::Result<Self> {
        let url = |path| endpoint(&store.url, path);
        Ok(Self {
            id: store.id.clone(),
            base: store.url.clone(),
            service: format!("store {}", store.id),
            http,
            tokens,
            pending_url: url("v1/sync/pending")?,
            outcomes_url: url("v1/sync/outcomes")?,
            failures_url: url("v1/sync/failures")?,
            checkpoint_url: url("v1/sync/checkpoint")?,
            central_changes_url: url("v1/sync/central-changes")?,
        })
    }

    /// The store's id.
    pub fn id(&self) -> &StoreId {
        &self.id
    }

    /// Up to `limit` pending changes, oldest first. Fails if the store at
    /// the configured URL is another store, so a wrong `STORES` entry can
    /// never push one store's changes under another's id.
    pub async fn pending(&self, limit: u32) -> Result<Vec<PendingChange>, StoreError> {
        let limit = limit.to_string();
        let page: PendingPage = call(&self.tokens, &self.service, || {
            self.http
                .get(self.pending_url.clone())
                .query(&[("limit", limit.as_str())])
        })
        .await?;
        if page.store_id != self.id.as_str() {
            return Err(StoreError::WrongStore {
                url: self.base.to_string(),
                configured: self.id.clone(),
                answered: page.store_id,
            });
        }
        Ok(page.changes)
    }

    /// Records central's final answers; returns how many events the store
    /// appended (0 when they were recorded before).
    pub async fn record_outcomes(&self, outcomes: &[Outcome]) -> Result<usize, CallError> {
        let body = OutcomesBody { outcomes };
        let recorded: Recorded = call(&self.tokens, &self.service, || {
            self.http.post(self.outcomes_url.clone()).json(&body)
        })
        .await?;
        Ok(recorded.recorded)
    }

    /// Marks changes `retrying` with the error and the next attempt's time.
    pub async fn record_failure(
        &self,
        operation_ids: &[Uuid],
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<usize, CallError> {
        let body = FailureBody {
            operation_ids,
            error,
            next_attempt_at,
        };
        let recorded: Recorded = call(&self.tokens, &self.service, || {
            self.http.post(self.failures_url.clone()).json(&body)
        })
        .await?;
        Ok(recorded.recorded)
    }

    /// The cursor after the last central event the store applied.
    pub async fn checkpoint(&self) -> Result<Option<String>, CallError> {
        let checkpoint: Checkpoint = call(&self.tokens, &self.service, || {
            self.http.get(self.checkpoint_url.clone())
        })
        .await?;
        Ok(checkpoint.cursor)
    }

    /// Applies central's changes and moves the checkpoint to `checkpoint`,
    /// in one transaction at the store.
    pub async fn apply_central_changes(
        &self,
        changes: &[CentralChange],
        checkpoint: &str,
    ) -> Result<usize, CallError> {
        let body = CentralChangesBody {
            changes,
            checkpoint,
        };
        let recorded: Recorded = call(&self.tokens, &self.service, || {
            self.http.post(self.central_changes_url.clone()).json(&body)
        })
        .await?;
        Ok(recorded.recorded)
    }
}
