//! Lets holds go when their time is up: every replica runs this task; each
//! due hold expires once ([`crate::ledger::Ledger::expire_due`]), and its
//! store is nudged so it hears within a sync.

use std::sync::Arc;
use std::time::Duration;

use domain::StoreId;
use prometheus::IntCounterVec;

use crate::ledger::Ledger;
use crate::nudge::StoreNudger;

/// Holds expired per round at most.
const ROUND: i64 = 100;

/// Starts the task; it runs until the process ends.
pub fn start(ledger: Ledger, every: Duration, ended: IntCounterVec, nudger: Arc<dyn StoreNudger>) {
    tokio::spawn(async move {
        // `interval` refuses a zero period.
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match ledger.expire_due(ROUND).await {
                Ok(expired) => {
                    for hold in &expired {
                        tracing::info!(reservation = %hold.reservation_id, store_id = %hold.store_id,
                            sku = %hold.sku, "hold expired");
                        if let Ok(store_id) = hold.store_id.parse::<StoreId>() {
                            nudger.nudge(&store_id);
                        }
                    }
                    ended
                        .with_label_values(&["expired"])
                        .inc_by(expired.len() as u64);
                }
                Err(error) => tracing::warn!(%error, "could not expire holds; trying again"),
            }
        }
    });
}
