//! End-to-end tests of the inventory ledger: `tests/e2e` starts the real
//! `central-app`, `store-app` and `sync-worker` binaries (built by
//! `cargo build --workspace --bins`) against real PostgreSQL and RabbitMQ,
//! each test with its own databases and broker names.
//!
//! This library is empty on purpose; the tests and their harness live in
//! `tests/e2e/`. Run them with `scripts/test.sh -p e2e-tests`.
