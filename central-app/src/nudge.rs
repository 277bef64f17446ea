//! Telling a store that central changed its stock, so the worker pulls the
//! change soon instead of at the next scheduled sync. Nudges carry no data
//! and may be lost: the schedule is the safety net.

use domain::StoreId;

/// Sends "store X has central changes" after a head-office change commits.
pub trait StoreNudger: Send + Sync {
    /// Nudges `store_id`'s sync; must not block and must not fail loudly.
    fn nudge(&self, store_id: &StoreId);
}

/// A nudger that does nothing; the worker's schedule still picks changes up.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopNudger;

impl StoreNudger for NoopNudger {
    fn nudge(&self, store_id: &StoreId) {
        tracing::debug!(store_id = %store_id, "nudge skipped: no broker configured");
    }
}

impl StoreNudger for service_infra::sync_bus::Nudger {
    fn nudge(&self, store_id: &StoreId) {
        service_infra::sync_bus::Nudger::nudge(self, store_id.as_str());
    }
}
