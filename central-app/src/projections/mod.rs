//! Central's projections of its log: `central_stock`, one row per
//! (store, SKU), written in the append transaction; queries over it
//! (a store's item, chain-wide availability); and its rebuild from the log.

pub mod movements;
pub mod rebuild;
pub mod reservations;
pub mod status;
pub mod stock;
pub mod transfers;
pub mod write;
