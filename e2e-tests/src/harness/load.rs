//! Load for the scenarios: many concurrent unconditional updates that can
//! never be refused for stock (positive deltas).

use futures_util::StreamExt;
use futures_util::stream;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::SKUS;
use super::clients::StoreApi;

/// Concurrent requests of a load.
const CONCURRENCY: usize = 16;

/// Sends `count` updates of +1 spread over the sample SKUs; returns the
/// operation ids of the accepted ones (all of them, or the test fails).
pub async fn updates(store: &StoreApi, count: usize) -> Vec<Uuid> {
    stream::iter(0..count)
        .map(|n| async move {
            store
                .update(SKUS[n % SKUS.len()], 1, None)
                .await
                .operation_id
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

/// [`updates`] in the background.
pub fn spawn_updates(store: &StoreApi, count: usize) -> JoinHandle<Vec<Uuid>> {
    let store = store.clone();
    tokio::spawn(async move { updates(&store, count).await })
}
