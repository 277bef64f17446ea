//! Retrying transactions that lost a race with another writer: an operation
//! id or stream sequence taken concurrently, a serialization failure or a
//! deadlock. Clients never see these as errors.

use std::future::Future;
use std::time::Duration;

const MAX_ATTEMPTS: u32 = 12;

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
pub async fn retry_conflicts<T, F, Fut>(mut attempt: F) -> Result<T, super::LedgerError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, super::LedgerError>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(super::LedgerError::Database(error))
                if is_transient_conflict(&error) && tries + 1 < MAX_ATTEMPTS =>
            {
                tries += 1;
                let ceiling_ms = 1u64 << tries.min(6);
                let pause = rand::random_range(0..=ceiling_ms);
                tracing::debug!(tries, pause_ms = pause, error = %error, "write conflict; retrying");
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            other => return other,
        }
    }
}
