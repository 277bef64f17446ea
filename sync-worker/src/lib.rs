//! The sync worker: moves every store change to central exactly once, in
//! order, and brings central's changes back to the stores.
//!
//! RabbitMQ carries nudges ("store X has changes"), never data: a nudge
//! runs one [`sync`] of that store over HTTP, from the store's log to
//! central and back, so a lost or duplicated message loses nothing.
//!
//! - [`sync`]: one sync of one store, callable on its own.
//! - [`central_client`], [`store_client`], [`token`], [`http`]: the HTTP
//!   side, with a cached client-credentials token.
//! - [`topology`], [`bus`], [`message`], [`retry`]: the broker side.
//! - [`consumer`]: one store's queue; [`scheduler`]: the periodic safety net.
//! - [`serve`]: the long-running process; [`server`]: metrics and health.
//! - [`cli`] and [`config`]: subcommands and typed settings.

pub mod bus;
pub mod central_client;
pub mod cli;
pub mod config;
pub mod consumer;
pub mod http;
pub mod message;
pub mod metrics;
pub mod retry;
pub mod scheduler;
pub mod serve;
pub mod server;
pub mod store_client;
pub mod sync;
pub mod token;
pub mod topology;
