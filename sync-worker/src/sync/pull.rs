//! The pull half of a sync: central's log for the store, read page by page
//! from the store's checkpoint, goes to the store as central changes with
//! the cursor of each page's last event as the new checkpoint.
//!
//! Every `ChangeApplied` is sent, the store's own changes included: the
//! store skips what it already reflects and counts a pending change central
//! applied (its answer lost in a crash) as synced. Only the store's changes
//! whose answers this very sync recorded are left out, as the store has
//! nothing to learn from them.
//!
//! Reading only head office's changes would be cheaper but is not safe:
//! when a worker loses the broker mid-sync, another worker may sync the
//! same store while the first one has pushed a change but not yet recorded
//! its answer. Central's next change to that SKU must then reach the store
//! after that change's own event, or the store counts the change twice and
//! expects a version central never reaches.

use std::collections::HashSet;

use domain::central::Origin;
use domain::{OperationId, StoreId};

use super::{SyncContext, SyncError, SyncReport, SyncRun};
use crate::central_client::LogEvent;
use crate::store_client::{CentralChange, StoreClient};

/// Events read from central per request (central's maximum).
const PAGE_SIZE: u32 = 1000;

/// Applies central's changes to the store until its checkpoint reaches the
/// end of central's log, or `run.stop` is cancelled.
pub(super) async fn pull(
    ctx: &SyncContext,
    store: &StoreClient,
    run: &SyncRun,
    report: &mut SyncReport,
    recorded: &HashSet<OperationId>,
) -> Result<(), SyncError> {
    let mut after = store.checkpoint().await?.cursor;
    loop {
        if run.stop.is_cancelled() {
            report.interrupted = true;
            break;
        }
        let page = ctx.central.events(store.id(), after, PAGE_SIZE).await?;
        // Central gave up waiting for older transactions: changes committed
        // before this sync may be missing, so the sync counts as incomplete
        // and is retried (its nudge may have been the only one for them).
        report.incomplete |= !page.complete;
        let Some(last) = page.events.last() else {
            break;
        };
        let checkpoint = last.cursor;
        let changes = central_changes(store.id(), &page.events, recorded)?;
        let holds = page
            .events
            .iter()
            .filter_map(|event| event.hold.clone())
            .collect();
        let recorded = store
            .apply_central_changes(changes, holds, checkpoint)
            .await?;
        report.pulled += recorded;
        ctx.metrics
            .changes
            .with_label_values(&["pulled"])
            .inc_by(recorded);
        after = Some(checkpoint);
        if page.next_cursor.is_none() || !page.complete {
            break;
        }
    }
    report.checkpoint = after;
    Ok(())
}

/// The changes among `events` (all of `store_id`'s streams), in log order,
/// read from each event's typed `change`; events without one
/// (registrations) and the store's own changes listed in `recorded` are
/// skipped.
pub fn central_changes(
    store_id: &StoreId,
    events: &[LogEvent],
    recorded: &HashSet<OperationId>,
) -> Result<Vec<CentralChange>, SyncError> {
    let mut changes = Vec::new();
    for event in events {
        if event.store_id != store_id.as_str() {
            return Err(SyncError::Protocol(format!(
                "central's log for store {store_id} holds an event of store {}",
                event.store_id
            )));
        }
        let Some(change) = &event.change else {
            // Registrations and any other event that records no change.
            continue;
        };
        let sku = event.sku.parse().map_err(|e| {
            SyncError::Protocol(format!("event at {} names a bad SKU: {e}", event.cursor))
        })?;
        let (operation_id, origin) = (change.operation_id, change.origin);
        if origin == Origin::Store && recorded.contains(&operation_id) {
            continue;
        }
        let bad_figure = |e: protocol::version::FigureError| {
            SyncError::Protocol(format!("event at {} has a bad figure: {e}", event.cursor))
        };
        let version = change.version.try_into().map_err(bad_figure)?;
        let quantity = change.quantity.try_into().map_err(bad_figure)?;
        changes.push(CentralChange {
            operation_id,
            sku,
            delta: change.delta,
            version,
            quantity,
        });
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use domain::Delta;
    use protocol::central::LoggedChange;

    use super::*;

    fn store() -> StoreId {
        "STORE-001".parse().expect("store id")
    }

    fn event(store_id: &str, change: Option<LoggedChange>) -> LogEvent {
        LogEvent {
            position: 3,
            cursor: "7-3".parse().expect("cursor"),
            store_id: store_id.into(),
            sku: "SKU-1".into(),
            sequence: 2,
            event_type: if change.is_some() {
                "ChangeApplied"
            } else {
                "ItemRegistered"
            }
            .into(),
            change,
            hold: None,
            payload: serde_json::json!({}),
            metadata: serde_json::json!({}),
            recorded_at: Utc::now(),
        }
    }

    fn applied(operation_id: OperationId, origin: Origin) -> Option<LoggedChange> {
        Some(LoggedChange {
            operation_id,
            delta: Delta::try_from(-2).expect("delta"),
            origin,
            version: 5,
            quantity: 8,
        })
    }

    #[test]
    fn logged_changes_become_central_changes() {
        let id = OperationId::new_v7();
        let events = [event("STORE-001", applied(id, Origin::HeadOffice))];
        let changes = central_changes(&store(), &events, &HashSet::new()).expect("readable");
        assert_eq!(
            changes,
            [CentralChange {
                operation_id: id,
                sku: "SKU-1".parse().expect("sku"),
                delta: Delta::try_from(-2).expect("delta"),
                version: 5.try_into().expect("version"),
                quantity: 8.try_into().expect("quantity"),
            }]
        );
    }

    #[test]
    fn events_without_a_change_are_skipped() {
        let events = [event("STORE-001", None)];
        assert_eq!(
            central_changes(&store(), &events, &HashSet::new()).expect("readable"),
            []
        );
    }

    #[test]
    fn another_stores_event_is_refused() {
        let events = [event(
            "STORE-002",
            applied(OperationId::new_v7(), Origin::Store),
        )];
        assert!(matches!(
            central_changes(&store(), &events, &HashSet::new()),
            Err(SyncError::Protocol(_))
        ));
    }

    #[test]
    fn the_stores_own_changes_recorded_by_this_sync_are_left_out() {
        let (recorded, unrecorded, head_office) = (
            OperationId::new_v7(),
            OperationId::new_v7(),
            OperationId::new_v7(),
        );
        let events = [
            event("STORE-001", applied(recorded, Origin::Store)),
            event("STORE-001", applied(unrecorded, Origin::Store)),
            event("STORE-001", applied(head_office, Origin::HeadOffice)),
        ];
        let skip = HashSet::from([recorded, head_office]);
        let sent: Vec<OperationId> = central_changes(&store(), &events, &skip)
            .expect("readable")
            .iter()
            .map(|c| c.operation_id)
            .collect();
        assert_eq!(sent, [unrecorded, head_office]);
    }
}
