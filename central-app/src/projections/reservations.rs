//! The `reservations` projection: written with the holds' events in the
//! transaction that decided them, read by the reservation API, the
//! availability figures and the expiry task.

use chrono::{DateTime, Utc};
use domain::reservation::{Hold, ReservationId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use service_infra::event_streams::{Changes, EventRow, SnapshotRow};
use sqlx::types::Json;
use uuid::Uuid;

/// A hold's stream id: `<store>/<sku>/<reservation>`, so the hold's events
/// sit in the store's part of the log beside the SKU's changes, and a log
/// reader finds the store and SKU in the id as for a stock stream.
pub fn stream_id(store_id: &str, sku: &str, id: &ReservationId) -> String {
    format!("{store_id}/{sku}/{id}")
}

/// A row of `reservations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct HoldRow {
    pub reservation_id: Uuid,
    pub store_id: String,
    pub sku: String,
    pub quantity: i64,
    pub status: String,
    pub expires_at: DateTime<Utc>,
    pub placed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl HoldRow {
    /// The row of a placed hold after event `version`; `None` before.
    pub fn of(state: &Hold, version: i64) -> Option<Self> {
        let order = state.order.as_ref()?;
        Some(Self {
            reservation_id: order.reservation_id.as_uuid(),
            store_id: order.store_id.to_string(),
            sku: order.sku.to_string(),
            quantity: order.quantity,
            status: state.status.as_str().to_owned(),
            expires_at: order.expires_at,
            placed_at: state.placed_at?,
            updated_at: state.updated_at?,
            version,
        })
    }
}

#[derive(Serialize)]
struct HoldEventRow {
    #[serde(flatten)]
    row: EventRow,
    store_id: String,
    sku: String,
}

/// Everything a transaction's hold decisions write, as one JSON parameter.
#[derive(Default, Serialize)]
pub struct HoldWrite {
    events: Vec<HoldEventRow>,
    snapshots: Vec<SnapshotRow>,
    holds: Vec<HoldRow>,
}

const WRITE_HOLDS: &str = r#"
WITH ev AS (
    INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                        payload, metadata, store_id, sku)
    SELECT 'Hold', r.aggregate_id, r.sequence, r.event_type, r.event_version,
           r.payload, r.metadata, r.store_id, r.sku
      FROM jsonb_to_recordset($1->'events') AS r(aggregate_id text, sequence bigint, event_type text,
                                      event_version text, payload jsonb, metadata jsonb,
                                      store_id text, sku text)
    RETURNING 1
), snaps AS (
    INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
    SELECT 'Hold', n.aggregate_id, n.last_sequence, n.last_sequence, n.payload
      FROM jsonb_to_recordset($1->'snapshots') AS n(aggregate_id text, last_sequence bigint, payload jsonb)
    ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
       SET last_sequence = EXCLUDED.last_sequence, current_snapshot = EXCLUDED.current_snapshot,
           payload = EXCLUDED.payload
    RETURNING 1
), rows AS (
    INSERT INTO reservations
    SELECT * FROM jsonb_populate_recordset(NULL::reservations, $1->'holds')
    ON CONFLICT (reservation_id) DO UPDATE
       SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at, version = EXCLUDED.version
     WHERE reservations.store_id = EXCLUDED.store_id AND reservations.sku = EXCLUDED.sku
    RETURNING 1
)
SELECT (SELECT count(*) FROM ev)
"#;

impl HoldWrite {
    /// The rows of what a transaction decided on holds.
    pub fn of(changes: Changes<ReservationId, Hold, Value>) -> Result<Self, serde_json::Error> {
        let mut write = Self::default();
        for (id, stream) in &changes.streams {
            let Some(row) = HoldRow::of(&stream.state, stream.sequence) else {
                continue;
            };
            let stream_id = stream_id(&row.store_id, &row.sku, id);
            for new in changes.events.iter().filter(|new| new.key == *id) {
                let meta = new.meta.clone();
                write.events.push(HoldEventRow {
                    row: EventRow::new(stream_id.clone(), new.sequence, &new.event, meta)?,
                    store_id: row.store_id.clone(),
                    sku: row.sku.clone(),
                });
            }
            write
                .snapshots
                .push(SnapshotRow::new(stream_id, stream.sequence, &stream.state)?);
            write.holds.push(row);
        }
        Ok(write)
    }

    /// Writes everything in one statement (nothing when nothing changed).
    pub async fn write(self, conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
        if self.events.is_empty() {
            return Ok(());
        }
        sqlx::query(WRITE_HOLDS)
            .bind(Json(&self))
            .execute(conn)
            .await
            .map(drop)
    }
}

const COLUMNS: &str =
    "reservation_id, store_id, sku, quantity, status, expires_at, placed_at, updated_at, version";

/// One reservation.
pub async fn one(
    executor: impl sqlx::PgExecutor<'_>,
    id: ReservationId,
) -> Result<Option<HoldRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM reservations WHERE reservation_id = $1"
    ))
    .bind(id.as_uuid())
    .fetch_optional(executor)
    .await
}

/// A page of reservations in id order after `after`, of `store_id` and in
/// `status` when given.
pub async fn page(
    executor: impl sqlx::PgExecutor<'_>,
    store_id: Option<&str>,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<HoldRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM reservations
          WHERE ($1::text IS NULL OR store_id = $1) AND ($2::text IS NULL OR status = $2)
            AND ($3::uuid IS NULL OR reservation_id > $3)
          ORDER BY reservation_id LIMIT $4"
    ))
    .bind(store_id)
    .bind(status)
    .bind(after)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// Reservations by id.
pub async fn many(
    executor: impl sqlx::PgExecutor<'_>,
    ids: &[Uuid],
) -> Result<Vec<HoldRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM reservations WHERE reservation_id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(executor)
    .await
}

/// Units held at `store_id` of `sku`.
pub async fn held(
    executor: impl sqlx::PgExecutor<'_>,
    store_id: &str,
    sku: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COALESCE(sum(quantity), 0)::bigint FROM reservations
          WHERE store_id = $1 AND sku = $2 AND status = 'held'",
    )
    .bind(store_id)
    .bind(sku)
    .fetch_one(executor)
    .await
}

/// Live holds of `store_id` on `skus` as `(sku, reservation, units)`,
/// newest first within each SKU; one query.
pub async fn live(
    executor: impl sqlx::PgExecutor<'_>,
    store_id: &str,
    skus: &[String],
) -> Result<Vec<(String, Uuid, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT sku, reservation_id, quantity FROM reservations
          WHERE store_id = $1 AND sku = ANY($2) AND status = 'held'
          ORDER BY sku, placed_at DESC, reservation_id DESC",
    )
    .bind(store_id)
    .bind(skus)
    .fetch_all(executor)
    .await
}

/// Up to `limit` holds past their deadline, locked for this transaction;
/// holds another transaction is expiring are skipped, so replicas share
/// the work and each hold expires once.
pub async fn due(
    executor: impl sqlx::PgExecutor<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT reservation_id FROM reservations
          WHERE status = 'held' AND expires_at <= $1
          ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(executor)
    .await
}
