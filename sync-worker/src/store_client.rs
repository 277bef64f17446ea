//! One store's worker endpoints (`/v1/sync/...` of `store-app`): read the
//! pending changes, record central's answers and transient failures, and
//! apply central's changes with the store's checkpoint in central's log.
//! Every write there is idempotent, so any call may be repeated.

use chrono::{DateTime, Utc};
use domain::{OperationId, StoreId};
use protocol::LogCursor;
use protocol::transfers::{TransferUpdate, TransferView};
pub use protocol::worker::{CentralChange, CentralHold, OutcomeReport, PendingChange};
use protocol::worker::{
    CentralChangesRequest, Checkpoint, FailureReport, OutcomesRequest, PendingPage,
    QuarantineReport, Recorded,
};
use reqwest::{Client, Url};

use crate::config::StoreEndpoint;
use crate::http::{CallError, call, endpoint};
use crate::token::TokenSource;

/// Why a store's answer cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("the store at {url} says it is {answered}, but it is configured as {configured}")]
    WrongStore {
        url: String,
        configured: StoreId,
        answered: StoreId,
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
    quarantine_url: Url,
    checkpoint_url: Url,
    central_changes_url: Url,
    transfers_url: Url,
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
            quarantine_url: url("v1/sync/quarantine")?,
            checkpoint_url: url("v1/sync/checkpoint")?,
            central_changes_url: url("v1/sync/central-changes")?,
            transfers_url: url("v1/sync/transfers")?,
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
        if page.store_id != self.id {
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
    pub async fn record_outcomes(&self, outcomes: &[OutcomeReport]) -> Result<u64, CallError> {
        let body = OutcomesRequest {
            outcomes: outcomes.to_vec(),
        };
        let recorded: Recorded = call(&self.tokens, &self.service, || {
            self.http.post(self.outcomes_url.clone()).json(&body)
        })
        .await?;
        Ok(recorded.recorded)
    }

    /// Marks changes `retrying` with the error and the next attempt's time.
    pub async fn record_failure(
        &self,
        operation_ids: &[OperationId],
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<u64, CallError> {
        let body = FailureReport {
            operation_ids: operation_ids.to_vec(),
            error: protocol::FailureText::lossy(error),
            next_attempt_at: Some(next_attempt_at.into()),
        };
        let recorded: Recorded = call(&self.tokens, &self.service, || {
            self.http.post(self.failures_url.clone()).json(&body)
        })
        .await?;
        Ok(recorded.recorded)
    }

    /// Sets a change aside that central refuses in any batch; whether the
    /// store quarantined it now (not already).
    pub async fn quarantine(
        &self,
        operation_id: OperationId,
        error: &str,
    ) -> Result<bool, CallError> {
        let body = QuarantineReport {
            operation_id,
            error: protocol::FailureText::lossy(error),
        };
        let recorded: Recorded = call(&self.tokens, &self.service, || {
            self.http.post(self.quarantine_url.clone()).json(&body)
        })
        .await?;
        Ok(recorded.recorded == 1)
    }

    /// Where the store stands in central's log of its changes (`cursor`)
    /// and in central's transfer feed (`transfers`).
    pub async fn checkpoint(&self) -> Result<Checkpoint, CallError> {
        call(&self.tokens, &self.service, || {
            self.http.get(self.checkpoint_url.clone())
        })
        .await
    }

    /// Saves central's copies of the store's transfers with the feed's
    /// cursor, in one transaction at the store.
    pub async fn save_transfers(
        &self,
        transfers: Vec<TransferView>,
        checkpoint: LogCursor,
    ) -> Result<u64, CallError> {
        let body = TransferUpdate {
            transfers,
            checkpoint,
        };
        let recorded: Recorded = call(&self.tokens, &self.service, || {
            self.http.post(self.transfers_url.clone()).json(&body)
        })
        .await?;
        Ok(recorded.recorded)
    }

    /// Applies central's changes, saves its word on the store's holds and
    /// moves the checkpoint to `checkpoint`, in one transaction at the
    /// store.
    pub async fn apply_central_changes(
        &self,
        changes: Vec<CentralChange>,
        holds: Vec<CentralHold>,
        checkpoint: LogCursor,
    ) -> Result<u64, CallError> {
        let body = CentralChangesRequest {
            changes,
            holds,
            checkpoint,
        };
        let recorded: Recorded = call(&self.tokens, &self.service, || {
            self.http.post(self.central_changes_url.clone()).json(&body)
        })
        .await?;
        Ok(recorded.recorded)
    }
}
