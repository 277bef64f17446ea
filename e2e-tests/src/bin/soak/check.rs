//! The checker, run once the load has stopped and the last fault has
//! ended: it waits for sync to go quiet, then reads every log and
//! projection straight from the databases.
//!
//! A head-office change is checked at its store by version, not by event:
//! when a store change synced after it already carried central's figures,
//! the store skips the head-office event as already reflected.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use e2e_tests::harness::process::Spec;
use e2e_tests::harness::{Stack, infra};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::load::{Origin, Record, lock};

/// How long sync may take to go quiet before what is left counts as stuck.
const QUIET_TIMEOUT: Duration = Duration::from_secs(60);

/// What the checker found.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Acked operations missing where they must be, as `what: operation`.
    pub lost: Vec<String>,
    /// Operations more than once in a log.
    pub duplicated: Vec<String>,
    /// Changes still pending after [`QUIET_TIMEOUT`].
    pub stuck: Vec<String>,
    /// Projections that disagree with each other or with their logs.
    pub mismatches: Vec<String>,
    /// Abusive requests that changed something or got a wrong answer.
    pub abuse: Vec<String>,
    /// Seconds from quiet (last fault over, load stopped) to converged;
    /// `None` when it did not converge.
    pub convergence_seconds: Option<f64>,
    /// Store changes rejected by central, with their reasons.
    pub rejected: HashMap<String, u64>,
    /// Propagation from a store change to central applying it, p50 and p99
    /// in seconds, over the whole run.
    pub propagation: Option<(f64, f64)>,
    /// Transfers by final status at central.
    pub transfers: HashMap<String, u64>,
    /// Holds by final status at central.
    pub holds: HashMap<String, u64>,
}

impl Verdict {
    /// The first violation, for the failure message.
    pub fn first(&self) -> Option<String> {
        let named = [
            ("lost", &self.lost),
            ("duplicated", &self.duplicated),
            ("stuck", &self.stuck),
            ("mismatch", &self.mismatches),
            ("abuse", &self.abuse),
        ];
        named
            .iter()
            .find_map(|(what, found)| found.first().map(|first| format!("{what}: {first}")))
    }
}

/// Waits for quiet, then checks everything.
pub async fn run(stack: &Stack, record: &Record, quiet_since: Instant) -> Verdict {
    let urls = stack.database_urls();
    let store_ids: Vec<String> = stack.stores.iter().map(|store| store.id.clone()).collect();
    let mut verdict = Verdict::default();
    let deadline = quiet_since + QUIET_TIMEOUT;
    loop {
        match converged(&urls, &store_ids).await {
            Ok(()) => {
                verdict.convergence_seconds = Some(quiet_since.elapsed().as_secs_f64());
                break;
            }
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(left) => {
                verdict.stuck = left;
                break;
            }
        }
    }
    if let Err(error) = check_logs(&urls, stack, record, &mut verdict).await {
        verdict
            .mismatches
            .push(format!("the check itself failed: {error:#}"));
    }
    if let Err(error) = check_holds(&urls, stack, record, &mut verdict).await {
        verdict
            .mismatches
            .push(format!("the hold check itself failed: {error:#}"));
    }
    if let Err(error) = check_movements(&urls, stack, record, &mut verdict).await {
        verdict
            .mismatches
            .push(format!("the movement check itself failed: {error:#}"));
    }
    verify_rebuilds(&urls, &mut verdict);
    verdict
}

async fn connect(url: &str) -> anyhow::Result<PgConnection> {
    Ok(PgConnection::connect(url).await?)
}

/// `Ok` when nothing is pending and every store's figures equal central's;
/// otherwise what is left, one line each.
async fn converged(urls: &[String], store_ids: &[String]) -> Result<(), Vec<String>> {
    let mut left = Vec::new();
    let central = central_stock(&urls[0])
        .await
        .map_err(|e| vec![e.to_string()])?;
    for (url, store_id) in urls[1..].iter().zip(store_ids) {
        let mut store = connect(url).await.map_err(|e| vec![e.to_string()])?;
        let pending: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT operation_id, sku FROM changes WHERE status = 'pending' ORDER BY position",
        )
        .fetch_all(&mut store)
        .await
        .map_err(|e| vec![e.to_string()])?;
        left.extend(
            pending
                .iter()
                .map(|(id, sku)| format!("{store_id}/{sku}: {id} still pending")),
        );
        let stock: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT sku, quantity, confirmed_quantity, confirmed_version FROM stock",
        )
        .fetch_all(&mut store)
        .await
        .map_err(|e| vec![e.to_string()])?;
        for (sku, quantity, confirmed, version) in stock {
            let at_central = central.get(&(store_id.clone(), sku.clone()));
            if at_central != Some(&(confirmed, version)) || quantity != confirmed {
                left.push(format!(
                    "{store_id}/{sku}: store quantity {quantity}, confirmed ({confirmed}, v{version}), central {at_central:?}"
                ));
            }
        }
    }
    if left.is_empty() { Ok(()) } else { Err(left) }
}

/// Central's `(quantity, version)` by `(store, SKU)`.
async fn central_stock(url: &str) -> anyhow::Result<HashMap<(String, String), (i64, i64)>> {
    let mut central = connect(url).await?;
    let rows: Vec<(String, String, i64, i64)> =
        sqlx::query_as("SELECT store_id, sku, quantity, version FROM central_stock")
            .fetch_all(&mut central)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(store, sku, quantity, version)| ((store, sku), (quantity, version)))
        .collect())
}

async fn check_logs(
    urls: &[String],
    stack: &Stack,
    record: &Record,
    verdict: &mut Verdict,
) -> anyhow::Result<()> {
    let mut central = connect(&urls[0]).await?;
    // Every change central applied, by operation id: how often, and where.
    let applied: Vec<(Uuid, String, String, i64, String)> = sqlx::query_as(
        "SELECT (payload->'ChangeApplied'->>'operation_id')::uuid, store_id, sku,
                (payload->'ChangeApplied'->>'version')::bigint,
                coalesce(payload->'ChangeApplied'->>'kind', 'adjustment')
           FROM events WHERE event_type = 'ChangeApplied'",
    )
    .fetch_all(&mut central)
    .await?;
    let mut at_central: HashMap<Uuid, usize> = HashMap::new();
    let mut applied_at: HashMap<Uuid, (String, i64)> = HashMap::new();
    let mut kind_at_central: HashMap<Uuid, &str> = HashMap::new();
    for (id, store, sku, version, kind) in &applied {
        applied_at.insert(*id, (sku.clone(), *version));
        kind_at_central.insert(*id, kind);
        *at_central.entry(*id).or_default() += 1;
        if at_central[id] == 2 {
            verdict
                .duplicated
                .push(format!("{id} applied twice at central ({store})"));
        }
    }
    let sums: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT s.store_id, s.sku, s.quantity,
                (SELECT sum(coalesce((e.payload->'ItemRegistered'->>'quantity')::bigint, 0)
                          + coalesce((e.payload->'ChangeApplied'->>'delta')::bigint, 0))::bigint
                   FROM events e WHERE e.store_id = s.store_id AND e.sku = s.sku)
           FROM central_stock s",
    )
    .fetch_all(&mut central)
    .await?;
    for (store, sku, quantity, from_log) in sums {
        if from_log != Some(quantity) {
            verdict.mismatches.push(format!(
                "{store}/{sku}: central quantity {quantity}, its log sums to {from_log:?}"
            ));
        }
    }
    verdict.propagation = sqlx::query_as::<_, (Option<f64>, Option<f64>)>(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag),
                percentile_cont(0.99) WITHIN GROUP (ORDER BY lag)
           FROM (SELECT extract(epoch FROM recorded_at
                        - (payload->'ChangeApplied'->>'occurred_at')::timestamptz)::float8 AS lag
                   FROM events WHERE event_type = 'ChangeApplied'
                    AND payload->'ChangeApplied'->>'origin' = 'store') lags",
    )
    .fetch_one(&mut central)
    .await
    .ok()
    .and_then(|(p50, p99)| Some((p50?, p99?)));

    let acked = lock(&record.acked).clone();
    let abusive: HashSet<Uuid> = lock(&record.abusive_ids).iter().copied().collect();
    verdict
        .abuse
        .extend(lock(&record.abusive_misanswered).iter().cloned());
    for (index, store) in stack.stores.iter().enumerate() {
        let mut db = connect(&urls[index + 1]).await?;
        let changes: Vec<(Uuid, String, Option<String>)> =
            sqlx::query_as("SELECT operation_id, status, result_code FROM changes")
                .fetch_all(&mut db)
                .await?;
        let statuses: HashMap<Uuid, (String, Option<String>)> = changes
            .into_iter()
            .map(|(id, status, code)| (id, (status, code)))
            .collect();
        let events: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT (payload->(event_type)->>'operation_id')::uuid, event_type FROM events
              WHERE event_type IN ('StockAdjusted', 'CentralChangeApplied')",
        )
        .fetch_all(&mut db)
        .await?;
        let confirmed: HashMap<String, i64> =
            sqlx::query_as::<_, (String, i64)>("SELECT sku, confirmed_version FROM stock")
                .fetch_all(&mut db)
                .await?
                .into_iter()
                .collect();
        let mut at_store: HashMap<Uuid, usize> = HashMap::new();
        for (id, kind) in &events {
            *at_store.entry(*id).or_default() += 1;
            if at_store[id] == 2 {
                verdict
                    .duplicated
                    .push(format!("{id} twice in {}'s log ({kind})", store.id));
            }
            if abusive.contains(id) {
                verdict
                    .abuse
                    .push(format!("abusive request {id} reached {}'s log", store.id));
            }
        }
        for ack in acked.iter().filter(|ack| ack.store_id == store.id) {
            let id = ack.operation_id;
            if let Some(kind) = kind_at_central.get(&id)
                && *kind != ack.kind
            {
                verdict.mismatches.push(format!(
                    "{id}: acknowledged as {}, central recorded {kind}",
                    ack.kind
                ));
            }
            match ack.origin {
                Origin::Store => match statuses.get(&id) {
                    None => verdict
                        .lost
                        .push(format!("{id}: acked by {} but not in its log", store.id)),
                    Some((status, _)) if status == "synced" && !at_central.contains_key(&id) => {
                        verdict.lost.push(format!(
                            "{id}: synced at {} but not in central's log",
                            store.id
                        ));
                    }
                    Some((status, code)) if status == "rejected" => {
                        let reason = code.clone().unwrap_or_else(|| "no reason".into());
                        *verdict.rejected.entry(reason).or_default() += 1;
                    }
                    Some(_) => {}
                },
                // A head-office change reaches the store either as its own
                // event or inside the figures of a later answer from
                // central (then it is skipped as already reflected): either
                // way the store's confirmed version is at least its version.
                Origin::HeadOffice => match applied_at.get(&id) {
                    None => verdict.lost.push(format!(
                        "{id}: head-office change acked but not in central's log"
                    )),
                    Some((sku, version))
                        if confirmed.get(sku).is_none_or(|seen| seen < version) =>
                    {
                        verdict.lost.push(format!(
                            "{id}: head-office change (version {version} of {sku}) never reached {}",
                            store.id
                        ));
                    }
                    Some(_) => {}
                },
            }
        }
    }
    for (id, store, ..) in &applied {
        if abusive.contains(id) {
            verdict
                .abuse
                .push(format!("abusive request {id} reached central ({store})"));
        }
    }
    Ok(())
}

/// No hold leaks: waits (up to [`QUIET_TIMEOUT`]) until every hold the
/// load placed has ended at central and each store's copy says how, then
/// reports any hold still live and any copy that disagrees; nothing may be
/// reserved anywhere after that, so what is available is the quantity.
async fn check_holds(
    urls: &[String],
    stack: &Stack,
    record: &Record,
    verdict: &mut Verdict,
) -> anyhow::Result<()> {
    let placed = lock(&record.holds).clone();
    let deadline = Instant::now() + QUIET_TIMEOUT;
    let mut left = hold_differences(urls, stack, &placed).await?;
    while !left.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        left = hold_differences(urls, stack, &placed).await?;
    }
    verdict.stuck.extend(left);
    let mut central = connect(&urls[0]).await?;
    let statuses: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM reservations GROUP BY status")
            .fetch_all(&mut central)
            .await?;
    verdict.holds = statuses
        .into_iter()
        .map(|(status, n)| (status, n as u64))
        .collect();
    Ok(())
}

/// Holds still live at central, and store copies that disagree with
/// central about a hold, one line each.
async fn hold_differences(
    urls: &[String],
    stack: &Stack,
    placed: &[(String, Uuid)],
) -> anyhow::Result<Vec<String>> {
    let mut central = connect(&urls[0]).await?;
    let at_central: HashMap<Uuid, String> =
        sqlx::query_as::<_, (Uuid, String)>("SELECT reservation_id, status FROM reservations")
            .fetch_all(&mut central)
            .await?
            .into_iter()
            .collect();
    let mut left = Vec::new();
    for (index, store) in stack.stores.iter().enumerate() {
        let mut db = connect(&urls[index + 1]).await?;
        let copies: HashMap<Uuid, String> =
            sqlx::query_as::<_, (Uuid, String)>("SELECT reservation_id, status FROM holds")
                .fetch_all(&mut db)
                .await?
                .into_iter()
                .collect();
        for (_, id) in placed.iter().filter(|(s, _)| *s == store.id) {
            let central_status = at_central.get(id).map_or("missing", String::as_str);
            if central_status == "held" || central_status == "missing" {
                left.push(format!("hold {id}: {central_status} at central"));
            }
            let copy = copies.get(id).map_or("unheard of", String::as_str);
            if copy != central_status {
                left.push(format!(
                    "hold {id}: {central_status} at central, {copy} at {}",
                    store.id
                ));
            }
        }
    }
    Ok(left)
}

/// A transfer at central, as the checker reads it.
#[derive(sqlx::FromRow)]
struct TransferRow {
    transfer_id: Uuid,
    status: String,
    quantity: i64,
    shipped: Option<i64>,
    received: Option<i64>,
}

/// Counts and transfers: every matched count is recorded at its store;
/// every transfer ends as its flow expected (`received` or `cancelled`),
/// shipped and received its quantity, and nothing is left in transit; the
/// units transfers moved at central sum to zero (they conserve units: only
/// sales, receipts, returns, damage, counts and adjustments move the
/// chain's total).
async fn check_movements(
    urls: &[String],
    stack: &Stack,
    record: &Record,
    verdict: &mut Verdict,
) -> anyhow::Result<()> {
    for (index, store) in stack.stores.iter().enumerate() {
        let mut db = connect(&urls[index + 1]).await?;
        let counted: HashSet<Uuid> = sqlx::query_scalar("SELECT operation_id FROM counts")
            .fetch_all(&mut db)
            .await?
            .into_iter()
            .collect();
        for (_, id) in lock(&record.matched_counts)
            .iter()
            .filter(|(s, _)| *s == store.id)
        {
            if !counted.contains(id) {
                verdict.lost.push(format!(
                    "{id}: matched count acked by {} but not recorded",
                    store.id
                ));
            }
        }
    }
    let mut central = connect(&urls[0]).await?;
    let rows: Vec<TransferRow> =
        sqlx::query_as("SELECT transfer_id, status, quantity, shipped, received FROM transfers")
            .fetch_all(&mut central)
            .await?;
    let at_central: HashMap<Uuid, TransferRow> =
        rows.into_iter().map(|row| (row.transfer_id, row)).collect();
    for (id, expected) in lock(&record.transfers).iter() {
        let Some(TransferRow {
            status,
            quantity,
            shipped,
            received,
            ..
        }) = at_central.get(id)
        else {
            verdict
                .lost
                .push(format!("transfer {id}: requested but not at central"));
            continue;
        };
        *verdict.transfers.entry(status.clone()).or_default() += 1;
        if status != expected {
            verdict.stuck.push(format!(
                "transfer {id}: {status} at central, its flow expected {expected}"
            ));
        }
        if status == "received" && (*shipped != Some(*quantity) || *received != Some(*quantity)) {
            verdict.mismatches.push(format!(
                "transfer {id}: {quantity} asked, {shipped:?} shipped, {received:?} received"
            ));
        }
    }
    let (in_transit, moved): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT coalesce(sum(shipped), 0) FROM transfers WHERE status = 'shipped')::bigint,
                (SELECT coalesce(sum((payload->'ChangeApplied'->>'delta')::bigint), 0) FROM events
                  WHERE event_type = 'ChangeApplied'
                    AND payload->'ChangeApplied'->>'kind' IN ('transfer_out', 'transfer_in'))::bigint",
    )
    .fetch_one(&mut central)
    .await?;
    if in_transit != 0 || moved != 0 {
        verdict.mismatches.push(format!(
            "transfers do not conserve units: {in_transit} in transit, {moved} units moved in all"
        ));
    }
    Ok(())
}

/// `rebuild-projections --verify` on every database.
fn verify_rebuilds(urls: &[String], verdict: &mut Verdict) {
    for (index, url) in urls.iter().enumerate() {
        let binary = if index == 0 {
            "central-app"
        } else {
            "store-app"
        };
        let (status, output) = Spec::new(format!("verify-{index}"), infra::binary(binary))
            .args(["rebuild-projections", "--verify"])
            .env("DATABASE_URL", url.clone())
            .output();
        if !status.success() {
            verdict.mismatches.push(format!(
                "{binary} rebuild-projections --verify on database {index}: {status}\n{output}"
            ));
        }
    }
}
