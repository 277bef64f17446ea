//! The transfer half of a pull: central's feed of the store's transfers,
//! read from the store's transfer checkpoint, goes to the store with the
//! cursor of each page as the new checkpoint. A store learns of a transfer,
//! its shipment and its cancellation this way, within a sync of the nudge
//! central sends after each step.

use super::{SyncContext, SyncError, SyncReport};
use crate::store_client::StoreClient;

/// Transfer-log events read from central per request.
const PAGE_SIZE: u32 = 500;

/// Saves central's copies of the store's transfers until the store's
/// transfer checkpoint reaches the end of central's transfer log.
pub(super) async fn pull_transfers(
    ctx: &SyncContext,
    store: &StoreClient,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let mut after = store.checkpoint().await?.transfers;
    loop {
        let feed = ctx
            .central
            .transfer_feed(store.id(), after, PAGE_SIZE)
            .await?;
        report.incomplete |= !feed.complete;
        let Some(cursor) = feed.cursor else {
            break;
        };
        report.transfers += store.save_transfers(feed.transfers, cursor).await?;
        after = Some(cursor);
        if !feed.more || !feed.complete {
            break;
        }
    }
    Ok(())
}
