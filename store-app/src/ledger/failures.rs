//! Sync failures: the worker's bookkeeping on pending changes — retries
//! after transient failures, and the quarantine of a change central refuses
//! in any batch. Not part of the log (neither changes anything central
//! knows), so they are plain updates of the `changes` projection, kept by a
//! rebuild.

use chrono::{DateTime, Utc};
use domain::OperationId;
use sqlx::PgPool;
use uuid::Uuid;

/// Marks pending changes `retrying`: one more attempt, the error and the
/// next attempt's time. Returns how many changes were still pending.
pub async fn record_failure(
    pool: &PgPool,
    operation_ids: &[OperationId],
    error: &str,
    next_attempt_at: Option<DateTime<Utc>>,
) -> Result<u64, sqlx::Error> {
    let ids: Vec<Uuid> = operation_ids.iter().map(OperationId::as_uuid).collect();
    let result = sqlx::query(
        // Joined on `unnest` so each id is a primary-key probe, whatever the
        // planner's statistics say about a large pending backlog.
        "UPDATE changes c
            SET attempts = c.attempts + 1, last_error = $2, next_attempt_at = $3
           FROM unnest($1::uuid[]) AS failed(operation_id)
          WHERE c.operation_id = failed.operation_id AND c.status = 'pending'",
    )
    .bind(ids)
    .bind(error)
    .bind(next_attempt_at)
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}

/// Sets a pending change aside: the worker's pending list skips it until
/// [`release`]. One more attempt and the error are recorded with it.
/// Returns whether the change was pending and not yet quarantined.
pub async fn quarantine(
    pool: &PgPool,
    operation_id: OperationId,
    error: &str,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE changes
            SET quarantined_at = now(), attempts = attempts + 1, last_error = $2
          WHERE operation_id = $1 AND status = 'pending' AND quarantined_at IS NULL",
    )
    .bind(operation_id.as_uuid())
    .bind(error)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Puts a quarantined change back in the worker's pending list. Returns
/// whether it was quarantined.
pub async fn release(pool: &PgPool, operation_id: OperationId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE changes SET quarantined_at = NULL
          WHERE operation_id = $1 AND status = 'pending' AND quarantined_at IS NOT NULL",
    )
    .bind(operation_id.as_uuid())
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}
