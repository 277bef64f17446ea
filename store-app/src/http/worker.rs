//! The sync worker's side of the store: `/v1/sync/...`, bearer token of role
//! `sync-worker` only. Every write is idempotent: the worker may repeat any
//! call after a crash or a broker redelivery.

use axum::extract::State;
use chrono::{DateTime, Utc};
use domain::store::{RejectionReason, SyncOutcome};
use domain::{Delta, OperationId};
use serde::{Deserialize, Serialize};
use service_infra::auth::{Bearer, Role};
use service_infra::{ApiError, Json, Query};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{database_error, invalid};
use super::inventory::{page_limit, parse_sku};
use crate::app::AppState;
use crate::ledger::{Appended, CentralChange};
use crate::projections::queries;

/// A change waiting for central, as the worker pushes it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PendingChange {
    pub operation_id: Uuid,
    pub sku: String,
    pub delta: i64,
    pub expected_version: Option<i64>,
    pub occurred_at: DateTime<Utc>,
    pub attempts: i32,
}

/// The oldest pending changes, in log order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PendingPage {
    pub store_id: String,
    pub changes: Vec<PendingChange>,
}

/// How many pending changes to return.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PendingParams {
    /// 1..=5000, default 500.
    pub limit: Option<i64>,
}

/// Central's final answer to one change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OutcomeBody {
    pub operation_id: Uuid,
    pub sku: String,
    /// `applied`, `version_conflict` or `insufficient_stock`.
    pub outcome: String,
    /// Central's version and quantity after the decision.
    pub version: i64,
    pub quantity: i64,
}

/// A batch of outcomes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OutcomesBody {
    pub outcomes: Vec<OutcomeBody>,
}

/// How many events recording the outcomes appended (0 for a repeat).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Recorded {
    pub recorded: usize,
}

/// A transient failure to sync some changes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FailureBody {
    pub operation_ids: Vec<Uuid>,
    pub error: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Where the store stands in central's log.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Checkpoint {
    pub cursor: Option<String>,
}

/// A change central made to this store's stream.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CentralChangeBody {
    pub operation_id: Uuid,
    pub sku: String,
    pub delta: i64,
    pub version: i64,
    pub quantity: i64,
}

/// Changes read from central's log, and the cursor after the last of them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CentralChangesBody {
    pub changes: Vec<CentralChangeBody>,
    pub checkpoint: String,
}

fn require_worker(claims: &service_infra::auth::Claims) -> Result<(), ApiError> {
    claims.require_role(&[Role::SyncWorker])
}

fn observe_settled(state: &AppState, appended: &[Appended]) {
    use domain::store::StockEvent;
    for entry in appended {
        let outcome = match &entry.event {
            StockEvent::ChangeSynced { .. } => "synced",
            StockEvent::ChangeRejected { .. } => "rejected",
            _ => continue,
        };
        state
            .metrics
            .sync_outcomes
            .with_label_values(&[outcome])
            .inc();
    }
}

/// Pending changes in log order, for the worker to push.
#[utoipa::path(get, path = "/v1/sync/pending", tag = "worker", params(PendingParams),
    security(("bearer" = [])),
    responses((status = 200, body = PendingPage), (status = 401, body = service_infra::ErrorBody),
              (status = 403, body = service_infra::ErrorBody)))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id))]
pub async fn pending(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Query(params): Query<PendingParams>,
) -> Result<Json<PendingPage>, ApiError> {
    require_worker(&claims)?;
    let limit = page_limit(params.limit, 500, 5000)?;
    let rows = queries::pending(state.ledger.pool(), limit)
        .await
        .map_err(database_error)?;
    Ok(Json(PendingPage {
        store_id: state.store_id.to_string(),
        changes: rows
            .into_iter()
            .map(|c| PendingChange {
                operation_id: c.operation_id,
                sku: c.sku,
                delta: c.delta,
                expected_version: c.expected_version,
                occurred_at: c.occurred_at,
                attempts: c.attempts,
            })
            .collect(),
    }))
}

fn parse_outcome(body: &OutcomeBody) -> Result<SyncOutcome, ApiError> {
    let (version, quantity) = (body.version, body.quantity);
    let rejected = |reason| SyncOutcome::Rejected {
        reason,
        version,
        quantity,
    };
    match body.outcome.as_str() {
        "applied" => Ok(SyncOutcome::Applied { version, quantity }),
        "version_conflict" => Ok(rejected(RejectionReason::VersionConflict)),
        "insufficient_stock" => Ok(rejected(RejectionReason::InsufficientStock)),
        other => Err(invalid(
            "outcome",
            format!(
                "{other:?} is not a final outcome (applied, version_conflict, insufficient_stock)"
            ),
        )),
    }
}

/// Records central's final answers; each becomes `ChangeSynced` or
/// `ChangeRejected` (rejecting the changes that depended on it too).
#[utoipa::path(post, path = "/v1/sync/outcomes", tag = "worker", request_body = OutcomesBody,
    security(("bearer" = [])),
    responses((status = 200, body = Recorded), (status = 422, body = service_infra::ErrorBody)))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, outcomes = body.outcomes.len()))]
pub async fn record_outcomes(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Json(body): Json<OutcomesBody>,
) -> Result<Json<Recorded>, ApiError> {
    require_worker(&claims)?;
    let outcomes = body
        .outcomes
        .iter()
        .map(|o| {
            Ok((
                parse_sku(&o.sku)?,
                OperationId::from(o.operation_id),
                parse_outcome(o)?,
            ))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let appended = state.ledger.record_outcomes(&outcomes).await?;
    observe_settled(&state, &appended);
    Ok(Json(Recorded {
        recorded: appended.len(),
    }))
}

/// Marks changes `retrying` after a transient failure.
#[utoipa::path(post, path = "/v1/sync/failures", tag = "worker", request_body = FailureBody,
    security(("bearer" = [])), responses((status = 200, body = Recorded)))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id))]
pub async fn record_failure(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Json(body): Json<FailureBody>,
) -> Result<Json<Recorded>, ApiError> {
    require_worker(&claims)?;
    let error: String = body.error.chars().take(1000).collect();
    let updated = queries::record_failure(
        state.ledger.pool(),
        &body.operation_ids,
        &error,
        body.next_attempt_at,
    )
    .await
    .map_err(database_error)?;
    Ok(Json(Recorded {
        recorded: updated as usize,
    }))
}

/// The cursor after the last central change this store applied.
#[utoipa::path(get, path = "/v1/sync/checkpoint", tag = "worker", security(("bearer" = [])),
    responses((status = 200, body = Checkpoint)))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id))]
pub async fn checkpoint(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<Json<Checkpoint>, ApiError> {
    require_worker(&claims)?;
    let cursor = queries::central_checkpoint(state.ledger.pool())
        .await
        .map_err(database_error)?;
    Ok(Json(Checkpoint { cursor }))
}

/// Applies central's changes to this store (`CentralChangeApplied`) and moves
/// the checkpoint, in one transaction; changes already reflected are skipped.
#[utoipa::path(post, path = "/v1/sync/central-changes", tag = "worker",
    request_body = CentralChangesBody, security(("bearer" = [])),
    responses((status = 200, body = Recorded), (status = 422, body = service_infra::ErrorBody)))]
#[tracing::instrument(skip_all, fields(store_id = %state.store_id, changes = body.changes.len()))]
pub async fn apply_central_changes(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Json(body): Json<CentralChangesBody>,
) -> Result<Json<Recorded>, ApiError> {
    require_worker(&claims)?;
    body.checkpoint
        .parse::<service_infra::event_log::LogCursor>()
        .map_err(|e| invalid("checkpoint", e))?;
    let changes = body
        .changes
        .iter()
        .map(|c| {
            Ok(CentralChange {
                sku: parse_sku(&c.sku)?,
                operation_id: OperationId::from(c.operation_id),
                delta: Delta::try_from(c.delta).map_err(|e| invalid("delta", e))?,
                version: c.version,
                quantity: c.quantity,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let appended = state
        .ledger
        .apply_central_changes(&changes, &body.checkpoint)
        .await?;
    observe_settled(&state, &appended);
    Ok(Json(Recorded {
        recorded: appended.len(),
    }))
}
