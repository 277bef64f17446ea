//! Transient sync failures: the worker's retry bookkeeping on pending
//! changes. Not part of the log (a retry changes nothing central knows), so
//! it is a plain update of the `changes` projection, kept by a rebuild.

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
