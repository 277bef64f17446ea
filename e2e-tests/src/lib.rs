//! End-to-end testing of the inventory ledger: [`harness`] starts the real
//! `central-app`, `store-app` and `sync-worker` binaries (built by `cargo
//! build --workspace --bins`) against real PostgreSQL and RabbitMQ, each
//! stack with its own databases and broker names, and controls them. The
//! end-to-end tests (`tests/e2e`, run with `scripts/test.sh -p e2e-tests`)
//! and the chaos soak (`src/bin/soak`) both drive it.

pub mod harness;
