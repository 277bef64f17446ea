//! One store's inventory service: the HTTP API over the store's event log,
//! its projections, and the command-line tasks that maintain them.
//!
//! - [`ledger`]: command execution on the event store — one transaction per
//!   operation that locks the SKU streams it touches and writes events,
//!   idempotency records, projections and snapshots together.
//! - [`projections`]: the `stock` and `changes` projections, their queries
//!   and rebuild.
//! - [`http`]: the router and handlers; [`state`]: what they share.
//! - [`service`]: the application steps around the ledger (metrics and the
//!   sync nudge after a commit).
//! - [`startup`]: [`startup::Application`], which binds and serves.
//! - [`cli`], [`config`] and [`db`]: subcommands, typed settings, migrations.

pub mod cli;
pub mod config;
pub mod db;
pub mod holds;
pub mod http;
pub mod ledger;
pub mod metrics;
pub mod projections;
pub mod service;
pub mod startup;
pub mod state;
pub mod transfers;
