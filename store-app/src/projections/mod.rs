//! Projections of the store's log: `stock` per SKU and `changes` with their
//! sync status. Written in the append transaction ([`write`]), read by the
//! API ([`queries`]), recreated from the log by [`rebuild`].

pub mod queries;
pub mod rebuild;
pub mod rows;
mod write;

pub use write::WriteBatch;
