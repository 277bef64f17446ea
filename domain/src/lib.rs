//! The inventory ledger's rules, free of I/O.
//!
//! - [`values`]: validated value types (`StoreId`, `Sku`, `OperationId`, `Delta`).
//! - [`store`]: one store's stream per SKU — local changes, sync outcomes and
//!   central changes, with the pending-change queue inside the aggregate.
//! - [`central`]: head office's stream per (store, SKU) — the version and
//!   stock rules every change must pass before central appends it.
//! - [`transfer`]: stock sent between two stores — requested by head
//!   office, shipped and received by the stores as changes of their own.
//! - [`reservation`]: holds for online orders at a store — held, then
//!   fulfilled, released, expired or short — and when a low-stock alert is
//!   due.
//! - [`idempotency`]: when a repeated operation id is a replay and when it is
//!   a reuse.
//!
//! The aggregates implement [`cqrs_es::Aggregate`]; their events carry the
//! resulting quantity and version, so `apply` only sets state and applying an
//! event twice changes nothing.

pub mod catalogue;
pub mod central;
pub mod idempotency;
pub mod movement;
#[cfg(feature = "openapi")]
mod openapi;
pub mod reservation;
pub mod store;
pub mod transfer;
pub mod values;

pub use movement::ChangeKind;
pub use values::{Delta, OperationId, Sku, StoreId, ValueError, Version};
