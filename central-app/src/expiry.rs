//! Lets holds go when their time is up: every replica runs this task; each
//! due hold expires once ([`crate::ledger::Ledger::expire_due`]).

use std::time::Duration;

use prometheus::IntCounterVec;

use crate::ledger::Ledger;

/// Holds expired per round at most.
const ROUND: i64 = 100;

/// Starts the task; it runs until the process ends.
pub fn start(ledger: Ledger, every: Duration, ended: IntCounterVec) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match ledger.expire_due(ROUND).await {
                Ok(expired) => {
                    for hold in &expired {
                        tracing::info!(reservation = %hold.reservation_id, store_id = %hold.store_id,
                            sku = %hold.sku, "hold expired");
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
