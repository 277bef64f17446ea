//! Retrying transactions that lost a race with another process: a stream
//! sequence or operation id taken concurrently, a stream moved since it was
//! read, a serialization failure or a deadlock. Callers never see these as errors.

use std::future::Future;
use std::time::Duration;

/// How many times a write is tried before the conflict is the caller's.
pub const MAX_ATTEMPTS: u32 = 12;

/// Whether a database error means "another writer got there first; run the
/// whole transaction again and it will see what that writer did".
pub fn is_transient_conflict(error: &sqlx::Error) -> bool {
    let Some(db) = error.as_database_error() else {
        return false;
    };
    matches!(
        db.code().as_deref(),
        Some("23505") | Some("40001") | Some("40P01")
    )
}

/// Runs `attempt` until it succeeds or fails with something other than a
/// transient conflict, backing off with jitter between attempts.
pub async fn retry_conflicts<T, E, F, Fut>(mut attempt: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::error::Error + 'static,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(error) if is_conflict(&error) && tries + 1 < MAX_ATTEMPTS => {
                tries += 1;
                pause(tries).await;
            }
            other => return other,
        }
    }
}

/// Waits before try number `tries + 1`: a random pause under a ceiling
/// that doubles with each try, up to 64 ms.
pub async fn pause(tries: u32) {
    let ceiling_ms = 1u64 << tries.min(6);
    let pause = rand::random_range(0..=ceiling_ms);
    tracing::debug!(tries, pause_ms = pause, "write conflict; retrying");
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

/// Whether `error`, or an error it wraps (its `source` chain, which
/// `thiserror`'s `#[from]` sets), is a transient write conflict.
pub fn is_conflict(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |error| error.source()).any(|error| {
        error.is::<crate::event_streams::StreamMoved>()
            || error
                .downcast_ref::<sqlx::Error>()
                .is_some_and(is_transient_conflict)
    })
}
