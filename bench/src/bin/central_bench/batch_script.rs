//! central_bench's pgbench script: one batch of `:n` changes as central
//! writes it, with the same SKU spread as the load (`push.rs`), so that
//! pgbench gives PostgreSQL's own rate for the same writes; and running it
//! for one (batch size, clients) measurement.

use bench::pgbench::{Pgbench, PgbenchOutcome, Run};

use crate::Cli;
use crate::server::Central;

/// One batch of `:n` changes as central writes it: lock the streams, look
/// the operation ids up, then one statement for events, operations,
/// central_stock and snapshots (as `projections/write.rs` does), commit.
fn script_text() -> String {
    let store = "('STORE-' || lpad(:s::text, 3, '0'))";
    let sku = "('BENCH-SKU-' || lpad(((:o::int + g - 1) % :k::int + 1)::text, 4, '0'))";
    let stream = format!("({store} || '/' || {sku})");
    let uuid7 = "(lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 19))::uuid";
    let series = "generate_series(1, :n::int) g";
    let join = "FROM agg JOIN cur USING (aggregate_id)";
    [
        "\\set s 1 + :client_id + :clients * random(0, :nstores / :clients - 1)".to_owned(),
        "\\set o random(0, :k - 1)".to_owned(),
        "BEGIN;".to_owned(),
        format!("SELECT s.aggregate_id, s.last_sequence, s.payload, (SELECT jsonb_agg(e.payload ORDER BY e.sequence) FROM events e WHERE e.aggregate_type = s.aggregate_type AND e.aggregate_id = s.aggregate_id AND e.sequence > s.last_sequence) AS later_events FROM snapshots s WHERE s.aggregate_type = 'CentralStock' AND s.aggregate_id = ANY(ARRAY(SELECT {stream} FROM {series})) ORDER BY s.aggregate_id FOR UPDATE OF s;"),
        format!("SELECT o.operation_id, o.sku, o.delta, o.expected_version, o.outcome, o.version, o.quantity FROM unnest(ARRAY(SELECT {uuid7} FROM {series})) AS wanted(operation_id) JOIN operations o ON o.store_id = {store} AND o.operation_id = wanted.operation_id;"),
        format!("WITH c AS MATERIALIZED (SELECT x.*, row_number() OVER w AS k, sum(x.delta) OVER w AS run FROM (SELECT g, {stream} AS aggregate_id, {sku} AS sku, CASE WHEN g % 2 = 0 THEN 1 ELSE -1 END AS delta, {uuid7} AS op FROM {series}) x WINDOW w AS (PARTITION BY x.aggregate_id ORDER BY x.g)), \
         cur AS MATERIALIZED (SELECT s.aggregate_id, s.last_sequence, s.payload, (s.payload ->> 'quantity')::bigint AS quantity, (s.payload ->> 'version')::bigint AS version FROM snapshots s WHERE s.aggregate_type = 'CentralStock' AND s.aggregate_id IN (SELECT aggregate_id FROM c)), \
         ev AS (INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, store_id, sku) SELECT 'CentralStock', c.aggregate_id, cur.last_sequence + c.k, 'ChangeApplied', '1.0', jsonb_build_object('ChangeApplied', jsonb_build_object('operation_id', c.op, 'delta', c.delta, 'expected_version', NULL, 'origin', 'store', 'occurred_at', now(), 'version', cur.version + c.k, 'quantity', cur.quantity + c.run)), '{{}}', {store}, c.sku FROM c JOIN cur USING (aggregate_id) RETURNING 1), \
         ops AS (INSERT INTO operations (store_id, operation_id, sku, delta, expected_version, outcome, version, quantity) SELECT {store}, c.op, c.sku, c.delta, NULL, 'applied', cur.version + c.k, cur.quantity + c.run FROM c JOIN cur USING (aggregate_id) RETURNING 1), \
         agg AS (SELECT aggregate_id, min(sku) AS sku, count(*) AS n, sum(delta) AS total FROM c GROUP BY aggregate_id), \
         stock AS (INSERT INTO central_stock (store_id, sku, name, quantity, version) SELECT {store}, agg.sku, cur.payload ->> 'name', cur.quantity + agg.total, cur.version + agg.n {join} ON CONFLICT (store_id, sku) DO UPDATE SET name = EXCLUDED.name, quantity = EXCLUDED.quantity, version = EXCLUDED.version RETURNING 1), \
         snaps AS (INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload) SELECT 'CentralStock', agg.aggregate_id, cur.last_sequence + agg.n, cur.last_sequence + agg.n, cur.payload || jsonb_build_object('quantity', cur.quantity + agg.total, 'version', cur.version + agg.n) {join} ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET last_sequence = EXCLUDED.last_sequence, current_snapshot = EXCLUDED.current_snapshot, payload = EXCLUDED.payload RETURNING 1) \
         SELECT (SELECT count(*) FROM ev) AS events, (SELECT count(*) FROM ops) AS operations;"),
        "COMMIT;".to_owned(),
    ]
    .join("\n") + "\n"
}

/// Labels of the script's commands, in order (as `-r` lists them).
pub const STATEMENTS: [&str; 7] = [
    "\\set s",
    "\\set o",
    "BEGIN",
    "lock + load snapshots",
    "operations lookup",
    "write (events, operations, stock, snapshots)",
    "COMMIT",
];

/// pgbench for `cli.duration` s: `clients` clients, each on the stores
/// `s` with `s % clients == client_id` (as the load's connections), every
/// transaction one `size`-change batch.
pub async fn run(
    pgbench: &Pgbench,
    central: &Central,
    cli: &Cli,
    size: usize,
    clients: usize,
) -> anyhow::Result<PgbenchOutcome> {
    let script = central.dir().join("batch.sql");
    std::fs::write(&script, script_text())?;
    pgbench
        .run(&Run {
            script: &script,
            db_url: central.db_url(),
            clients,
            jobs: 2,
            seconds: cli.duration,
            defines: vec![
                ("n", size.to_string()),
                ("k", cli.skus.to_string()),
                ("nstores", cli.stores.to_string()),
                ("clients", clients.to_string()),
            ],
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_command() {
        assert_eq!(script_text().lines().count(), STATEMENTS.len());
    }
}
