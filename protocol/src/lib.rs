//! The wire: every request and answer of the three HTTP surfaces.
//!
//! - [`local`]: the store's own API (`/v1/local/...`), used by tills;
//! - [`worker`]: the store's API for the sync worker (`/v1/sync/...`);
//! - [`transfers`]: transfers between stores, at central and at the stores;
//! - [`central`]: head office's API (sync, head-office changes, queries,
//!   the event log, tokens).
//!
//! Each type here is the one a server deserializes, so parsing *is*
//! validation (patterns, ranges, non-zero deltas, text without NUL,
//! lengths): a value that reaches a handler is valid. The same types derive
//! the OpenAPI schemas, and their bounds come from the constants the
//! validation checks, so the documents and the servers cannot disagree.
//! The sync worker uses the same types as a client. Outcomes, statuses and
//! reasons are enums, never strings compared across processes.

pub mod central;
pub mod cursor;
pub mod error;
pub mod limit;
pub mod local;
pub mod outcome;
pub mod reservations;
pub mod text;
pub mod timestamp;
pub mod transfers;
pub mod version;
pub mod worker;

pub use cursor::LogCursor;
pub use error::ErrorBody;
pub use limit::Limit;
pub use outcome::{FinalOutcome, SyncState};
pub use text::{FailureText, Reason};
pub use timestamp::Timestamp;
pub use version::{Quantity, StreamVersion};

/// `true`, for fields that default to it when an older peer omits them.
fn yes() -> bool {
    true
}
