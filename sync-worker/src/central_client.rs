//! Central's sync API as the worker uses it: push a batch of one store's
//! changes, read central's log for one store, and check that central is
//! reachable.

use std::time::Duration;

use domain::StoreId;
use protocol::LogCursor;
use protocol::central::{BatchChange, BatchRequest, BatchResponse};
pub use protocol::central::{ChangeResult, EventView as LogEvent, EventsPage};
use protocol::transfers::TransferFeed;
use reqwest::{Client, Url};

use crate::http::{CallError, call, endpoint};
use crate::store_client::PendingChange;
use crate::token::TokenSource;

/// How long the readiness probe waits for central.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Talks to central on behalf of every store. Cheap to clone.
#[derive(Clone)]
pub struct CentralClient {
    http: Client,
    tokens: TokenSource,
    batch_url: Url,
    events_url: Url,
    transfers_url: Url,
    ready_url: Url,
}

impl CentralClient {
    /// A client for central at `base`, authenticating with `tokens`.
    pub fn new(http: Client, base: &Url, tokens: TokenSource) -> anyhow::Result<Self> {
        Ok(Self {
            http,
            tokens,
            batch_url: endpoint(base, "v1/sync/batch")?,
            events_url: endpoint(base, "v1/events")?,
            transfers_url: endpoint(base, "v1/sync/transfers")?,
            ready_url: endpoint(base, "health/ready")?,
        })
    }

    /// Pushes `changes` of `store_id`, in order; one result per change.
    #[tracing::instrument(skip_all, fields(store_id = %store_id, changes = changes.len()))]
    pub async fn push_batch(
        &self,
        store_id: &StoreId,
        changes: &[PendingChange],
    ) -> Result<Vec<ChangeResult>, CallError> {
        let body = BatchRequest {
            store_id: store_id.clone(),
            changes: changes
                .iter()
                .map(|c| BatchChange {
                    operation_id: c.operation_id,
                    sku: c.sku.clone(),
                    kind: c.kind,
                    delta: c.delta,
                    expected_version: c.expected_version,
                    occurred_at: Some(c.occurred_at.into()),
                    store_client: c.client.clone(),
                    transfer_id: c.transfer_id,
                    reservation_id: c.reservation_id,
                })
                .collect(),
        };
        let response: BatchResponse = call(&self.tokens, "central", || {
            self.http.post(self.batch_url.clone()).json(&body)
        })
        .await?;
        Ok(response.results)
    }

    /// Up to `limit` events of `store_id` after `after` (from the start when
    /// `None`), in central's commit order.
    #[tracing::instrument(skip_all, fields(store_id = %store_id, after = ?after))]
    pub async fn events(
        &self,
        store_id: &StoreId,
        after: Option<LogCursor>,
        limit: u32,
    ) -> Result<EventsPage, CallError> {
        self.read_log(&self.events_url, store_id, after, limit)
            .await
    }

    /// The transfers of `store_id` that moved in central's log after
    /// `after` (from the start when `None`), as they stand now.
    #[tracing::instrument(skip_all, fields(store_id = %store_id, after = ?after))]
    pub async fn transfer_feed(
        &self,
        store_id: &StoreId,
        after: Option<LogCursor>,
        limit: u32,
    ) -> Result<TransferFeed, CallError> {
        self.read_log(&self.transfers_url, store_id, after, limit)
            .await
    }

    /// `GET url?store_id=&limit=&after=`: a page of one of central's log
    /// readers for one store.
    async fn read_log<T: serde::de::DeserializeOwned>(
        &self,
        url: &Url,
        store_id: &StoreId,
        after: Option<LogCursor>,
        limit: u32,
    ) -> Result<T, CallError> {
        let limit = limit.to_string();
        let after = after.map(|cursor| cursor.to_string());
        call(&self.tokens, "central", || {
            let mut query = vec![("store_id", store_id.as_str()), ("limit", limit.as_str())];
            if let Some(after) = &after {
                query.push(("after", after.as_str()));
            }
            self.http.get(url.clone()).query(&query)
        })
        .await
    }

    /// `Ok` when central answers its readiness probe with 2xx in time.
    pub async fn ready(&self) -> Result<(), String> {
        let response = self
            .http
            .get(self.ready_url.clone())
            .timeout(READY_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("central is unreachable: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("central is not ready ({})", response.status()))
        }
    }
}
