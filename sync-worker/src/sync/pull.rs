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

use uuid::Uuid;

use domain::StoreId;
use domain::central::{CentralEvent, Origin};

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
    recorded: &HashSet<Uuid>,
) -> Result<(), SyncError> {
    let mut after = store.checkpoint().await?;
    loop {
        if run.stop.is_cancelled() {
            report.interrupted = true;
            break;
        }
        let page = ctx
            .central
            .events(store.id(), after.as_deref(), PAGE_SIZE)
            .await?;
        let Some(last) = page.events.last() else {
            break;
        };
        let checkpoint = last.cursor.clone();
        let changes = central_changes(store.id(), &page.events, recorded)?;
        let recorded = store.apply_central_changes(&changes, &checkpoint).await?;
        report.pulled += recorded;
        ctx.metrics
            .changes
            .with_label_values(&["pulled"])
            .inc_by(recorded as u64);
        after = Some(checkpoint);
        if page.next_cursor.is_none() {
            break;
        }
    }
    report.checkpoint = after;
    Ok(())
}

/// The changes among `events` (all of `store_id`'s streams), in log order;
/// registrations, unknown event types and the store's own changes listed in
/// `recorded` are skipped.
pub fn central_changes(
    store_id: &StoreId,
    events: &[LogEvent],
    recorded: &HashSet<Uuid>,
) -> Result<Vec<CentralChange>, SyncError> {
    let mut changes = Vec::new();
    for event in events {
        if event.store_id != store_id.as_str() {
            return Err(SyncError::Protocol(format!(
                "central's log for store {store_id} holds an event of store {}",
                event.store_id
            )));
        }
        match event.event_type.as_str() {
            "ChangeApplied" => {}
            "ItemRegistered" => continue,
            other => {
                tracing::debug!(
                    event_type = other,
                    "skipping an event type the store does not need"
                );
                continue;
            }
        }
        let parsed: CentralEvent = serde_json::from_value(event.payload.clone()).map_err(|e| {
            SyncError::Protocol(format!("unreadable ChangeApplied at {}: {e}", event.cursor))
        })?;
        let CentralEvent::ChangeApplied {
            operation_id,
            delta,
            origin,
            version,
            quantity,
            ..
        } = parsed
        else {
            return Err(SyncError::Protocol(format!(
                "event at {} is typed ChangeApplied but holds another event",
                event.cursor
            )));
        };
        if origin == Origin::Store && recorded.contains(&operation_id.as_uuid()) {
            continue;
        }
        changes.push(CentralChange {
            operation_id: operation_id.as_uuid(),
            sku: event.sku.clone(),
            delta: delta.get(),
            version,
            quantity,
        });
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use domain::{Delta, OperationId};

    use super::*;

    fn store() -> StoreId {
        "STORE-001".parse().expect("store id")
    }

    fn event(store_id: &str, event_type: &str, payload: serde_json::Value) -> LogEvent {
        LogEvent {
            cursor: "7-3".into(),
            store_id: store_id.into(),
            sku: "SKU-1".into(),
            event_type: event_type.into(),
            payload,
        }
    }

    fn applied(operation_id: OperationId, origin: Origin) -> serde_json::Value {
        serde_json::to_value(CentralEvent::ChangeApplied {
            operation_id,
            delta: Delta::try_from(-2).expect("delta"),
            expected_version: Some(4),
            origin,
            occurred_at: Utc::now(),
            version: 5,
            quantity: 8,
        })
        .expect("serializes")
    }

    #[test]
    fn change_applied_events_become_central_changes() {
        let id = OperationId::new_v7();
        let events = [event(
            "STORE-001",
            "ChangeApplied",
            applied(id, Origin::HeadOffice),
        )];
        let changes = central_changes(&store(), &events, &HashSet::new()).expect("readable");
        assert_eq!(
            changes,
            [CentralChange {
                operation_id: id.as_uuid(),
                sku: "SKU-1".into(),
                delta: -2,
                version: 5,
                quantity: 8,
            }]
        );
    }

    #[test]
    fn registrations_are_skipped() {
        let events = [event(
            "STORE-001",
            "ItemRegistered",
            serde_json::json!({"ItemRegistered": {}}),
        )];
        assert_eq!(
            central_changes(&store(), &events, &HashSet::new()).expect("readable"),
            []
        );
    }

    #[test]
    fn another_stores_event_is_refused() {
        let events = [event(
            "STORE-002",
            "ChangeApplied",
            applied(OperationId::new_v7(), Origin::Store),
        )];
        assert!(matches!(
            central_changes(&store(), &events, &HashSet::new()),
            Err(SyncError::Protocol(_))
        ));
    }

    #[test]
    fn an_unreadable_payload_is_refused() {
        let events = [event(
            "STORE-001",
            "ChangeApplied",
            serde_json::json!({"ChangeApplied": {}}),
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
            event(
                "STORE-001",
                "ChangeApplied",
                applied(recorded, Origin::Store),
            ),
            event(
                "STORE-001",
                "ChangeApplied",
                applied(unrecorded, Origin::Store),
            ),
            event(
                "STORE-001",
                "ChangeApplied",
                applied(head_office, Origin::HeadOffice),
            ),
        ];
        let skip = HashSet::from([recorded.as_uuid(), head_office.as_uuid()]);
        let sent: Vec<Uuid> = central_changes(&store(), &events, &skip)
            .expect("readable")
            .iter()
            .map(|c| c.operation_id)
            .collect();
        assert_eq!(sent, [unrecorded.as_uuid(), head_office.as_uuid()]);
    }
}
