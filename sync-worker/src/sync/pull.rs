//! The pull half of a sync: head office's changes to the store, read from
//! central's log page by page from the store's checkpoint, go to the store
//! as central changes with the cursor of each page's last event as the new
//! checkpoint.
//!
//! The store's own changes are not read back: the push already recorded
//! central's answer to each of them, and one whose answer was lost (a crash
//! between central's commit and the store's record) is still pending at the
//! store, so the next push sends it again and central replays its answer.

use domain::StoreId;
use domain::central::CentralEvent;

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
        let changes = central_changes(store.id(), &page.events)?;
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
/// registrations and unknown event types are skipped.
pub fn central_changes(
    store_id: &StoreId,
    events: &[LogEvent],
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
    use domain::central::Origin;
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
        let changes = central_changes(&store(), &events).expect("readable");
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
        assert_eq!(central_changes(&store(), &events).expect("readable"), []);
    }

    #[test]
    fn another_stores_event_is_refused() {
        let events = [event(
            "STORE-002",
            "ChangeApplied",
            applied(OperationId::new_v7(), Origin::Store),
        )];
        assert!(matches!(
            central_changes(&store(), &events),
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
            central_changes(&store(), &events),
            Err(SyncError::Protocol(_))
        ));
    }
}
