//! Checks every scenario ends with: convergence (each store's confirmed
//! figures equal central's, nothing pending) and exactly-once application
//! at central.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::Stack;

/// How long sync may take to go quiet after a scenario.
const CONVERGENCE_TIMEOUT: Duration = Duration::from_secs(60);

impl Stack {
    /// Waits until, for every store and SKU, nothing is pending and the
    /// store's `confirmed_quantity`/`confirmed_version` equal central's;
    /// panics with the differences after a deadline.
    pub async fn assert_converged(&self) {
        let started = Instant::now();
        loop {
            let differences = self.differences().await;
            if differences.is_empty() {
                return;
            }
            assert!(
                started.elapsed() < CONVERGENCE_TIMEOUT,
                "stores and central did not converge within {CONVERGENCE_TIMEOUT:?}:\n{}",
                differences.join("\n")
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn differences(&self) -> Vec<String> {
        let mut differences = Vec::new();
        for store in &self.stores {
            for stock in store.inventory().await {
                let central = self.central.item(&store.id, &stock.sku).await;
                let at_store = (stock.confirmed_quantity, stock.confirmed_version);
                if stock.pending_changes != 0 || at_store != (central.quantity, central.version) {
                    differences.push(format!(
                        "{}/{}: store confirmed (quantity, version) {at_store:?} with {} pending, central {:?}",
                        store.id, stock.sku, stock.pending_changes, (central.quantity, central.version)
                    ));
                }
            }
        }
        differences
    }

    /// Asserts central applied each of `operations` of `store` exactly
    /// once, and no operation of the store twice.
    pub async fn assert_applied_exactly_once(&self, store: usize, operations: &[Uuid]) {
        let store_id = &self.stores[store].id;
        let mut counts: HashMap<Uuid, usize> = HashMap::new();
        for id in self.central.applied_operations(store_id).await {
            *counts.entry(id).or_default() += 1;
        }
        let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "operations applied more than once at {store_id}: {twice:?}"
        );
        let missing: Vec<_> = operations
            .iter()
            .filter(|id| !counts.contains_key(id))
            .collect();
        assert!(
            missing.is_empty(),
            "{} of {} operations of {store_id} never applied at central, e.g. {:?}",
            missing.len(),
            operations.len(),
            missing.iter().take(5).collect::<Vec<_>>()
        );
    }
}
