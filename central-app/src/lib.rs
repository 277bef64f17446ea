//! Head office's service: the token issuer, the versioned sync API that
//! refuses stale writes, chain-wide stock, and the CLI that runs it all.
//!
//! - [`ledger`]: the batch executor — one transaction per batch that locks
//!   the touched (store, SKU) streams, decides every change with the
//!   `domain::central` aggregate and writes events, idempotency records,
//!   projections and snapshots in one statement.
//! - [`projections`]: the `central_stock` projection, its queries and rebuild.
//! - [`auth`]: client credentials, Ed25519 signing keys and access tokens.
//! - [`http`]: the router and handlers; [`state`]: what they share.
//! - [`service`]: the application steps around the ledger (metrics and the
//!   store nudge after a commit).
//! - [`startup`]: [`startup::Application`], which binds and serves.
//! - [`cli`], [`config`] and [`db`]: subcommands, typed settings, migrations.

pub mod alerts;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod db;
pub mod expiry;
pub mod http;
pub mod ledger;
pub mod metrics;
pub mod nudge;
pub mod outbox;
pub mod projections;
pub mod service;
pub mod startup;
pub mod state;
