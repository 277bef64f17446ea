//! HTTP-level tests of store-app against a real PostgreSQL (and RabbitMQ for
//! the trigger): one database per test, dropped when the test ends.

mod changes;
mod cli;
mod concurrency;
mod contract;
mod counts;
mod crash;
mod errors;
mod events;
mod helpers;
mod idempotency;
mod inventory;
mod kept_states;
mod kinds;
mod local_auth;
mod operations;
mod reservations;
mod sync;
mod transfers;
mod worker;
