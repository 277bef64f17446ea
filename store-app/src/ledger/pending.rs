//! The pending changes a batch of sync commands refers to, read from the
//! `changes` projection inside the batch's transaction (after the stream
//! locks, so nothing moves underneath) and kept current as the batch
//! settles them. The aggregate keeps only counts; this hands it the changes.

use std::collections::{HashMap, HashSet};

use domain::store::{PendingChange, StockEvent};
use domain::{Delta, OperationId, Sku};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct PendingRow {
    operation_id: Uuid,
    sku: String,
    delta: i64,
    expected_version: Option<i64>,
    position: i64,
}

#[derive(Clone)]
struct Located {
    sku: Sku,
    position: i64,
    change: PendingChange,
}

/// Pending changes by operation id, plus each SKU's compare-and-set changes
/// (the only ones a rejection can drag along).
#[derive(Default)]
pub struct PendingView {
    by_operation: HashMap<OperationId, Located>,
    conditional: HashMap<Sku, Vec<Located>>,
    settled: HashSet<OperationId>,
}

impl PendingView {
    /// Loads the pending changes among `operations`, and the pending
    /// compare-and-set changes of `cascading_skus`.
    pub async fn load(
        conn: &mut PgConnection,
        operations: &[OperationId],
        cascading_skus: &[Sku],
    ) -> Result<Self, sqlx::Error> {
        let ids: Vec<Uuid> = operations.iter().map(OperationId::as_uuid).collect();
        let skus: Vec<&str> = cascading_skus.iter().map(Sku::as_str).collect();
        // Two key lookups rather than one query with an `OR`, which the
        // planner answers by scanning every pending change.
        let mut rows: Vec<PendingRow> = sqlx::query_as(
            "SELECT c.operation_id, c.sku, c.delta, c.expected_version, c.position
               FROM unnest($1::uuid[]) AS wanted(operation_id)
               JOIN changes c USING (operation_id)
              WHERE c.status = 'pending'",
        )
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
        if !skus.is_empty() {
            rows.extend(
                sqlx::query_as::<_, PendingRow>(
                    "SELECT operation_id, sku, delta, expected_version, position FROM changes
                      WHERE status = 'pending' AND expected_version IS NOT NULL
                        AND sku = ANY($1)",
                )
                .bind(&skus)
                .fetch_all(&mut *conn)
                .await?,
            );
        }
        rows.sort_by_key(|row| row.position);
        rows.dedup_by_key(|row| row.operation_id);
        let wanted: HashSet<Uuid> = ids.into_iter().collect();
        let mut view = Self::default();
        for row in rows {
            let located = Located {
                sku: row.sku.parse().map_err(decode)?,
                position: row.position,
                change: PendingChange {
                    operation_id: row.operation_id.into(),
                    delta: Delta::try_from(row.delta).map_err(decode)?,
                    expected_version: row.expected_version,
                },
            };
            if row.expected_version.is_some() && skus.contains(&row.sku.as_str()) {
                view.conditional
                    .entry(located.sku.clone())
                    .or_default()
                    .push(located.clone());
            }
            if wanted.contains(&row.operation_id) {
                view.by_operation
                    .insert(located.change.operation_id, located);
            }
        }
        Ok(view)
    }

    /// The change, if it is still pending.
    pub fn pending(&self, operation_id: OperationId) -> Option<PendingChange> {
        self.by_operation
            .get(&operation_id)
            .filter(|_| !self.settled.contains(&operation_id))
            .map(|l| l.change.clone())
    }

    /// The compare-and-set changes of the same SKU made after `operation_id`
    /// and still pending, in log order.
    pub fn later_conditional(&self, operation_id: OperationId) -> Vec<PendingChange> {
        let Some(located) = self.by_operation.get(&operation_id) else {
            return Vec::new();
        };
        self.conditional
            .get(&located.sku)
            .into_iter()
            .flatten()
            .filter(|l| l.position > located.position)
            .filter(|l| !self.settled.contains(&l.change.operation_id))
            .map(|l| l.change.clone())
            .collect()
    }

    /// Notes the changes `events` settled.
    pub fn observe(&mut self, events: &[StockEvent]) {
        for event in events {
            if let StockEvent::ChangeSynced { operation_id, .. }
            | StockEvent::ChangeRejected { operation_id, .. } = event
            {
                self.settled.insert(*operation_id);
            }
        }
    }
}

fn decode(error: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(error))
}
