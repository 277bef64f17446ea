//! Central's API tests: each test gets its own database and server.

mod cli;
mod concurrency;
mod contract;
mod events;
mod fixtures;
mod health;
mod helpers;
mod inventory;
mod movements;
mod outcomes;
mod reservations;
mod secrets;
mod status;
mod tokens;
mod transfers;
mod validation;
