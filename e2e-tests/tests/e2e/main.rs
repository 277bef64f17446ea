//! End-to-end tests: the real `central-app`, `store-app` and `sync-worker`
//! processes over real PostgreSQL and RabbitMQ, one fresh stack per test
//! (issue 4, "What it must show"). Build the binaries first:
//! `cargo build --workspace --bins` (scripts/test.sh does).
//!
//! Every scenario ends with the convergence check. Timings are printed
//! (`-- --nocapture` shows them).

mod audit;
mod broker;
mod chain;
mod coalescing;
mod conflict;
mod counts;
mod crash;
mod head_office;
mod offline;
mod poison;
mod propagation;
mod quarantine;
mod reservations;
mod scale;
mod sync_once;
mod tokens;
mod transfers;
