//! store-bench's pgbench scripts: the transaction one `store-app` update ran
//! before group commit (lock and load, look up, four writes, as separate
//! statements; kept as a fixed reference point), and the minimum writes of
//! an update (issue 15's baseline). Running them is `bench::pgbench`'s job.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Labels of the script's commands, in order (as `-r` lists them).
pub const COMMANDS: &[&str] = &[
    "\\set sku index",
    "BEGIN",
    "snapshot SELECT … FOR UPDATE (+ later events)",
    "operation id lookup in changes",
    "INSERT events",
    "INSERT changes",
    "UPDATE stock",
    "UPDATE snapshots",
    "COMMIT",
];

/// Fails unless the store's snapshots have the shape the script rewrites:
/// the aggregate's figures, `quantity` and `version`, and no pending list.
pub fn check_snapshot_shape(payload: &serde_json::Value) -> anyhow::Result<()> {
    let has = |key: &str| payload.get(key).is_some_and(serde_json::Value::is_i64);
    if !has("quantity") || !has("version") || payload.get("pending").is_some() {
        bail!(
            "the store's snapshot payload changed shape ({payload}); \
             update the UPDATE snapshots statement in bench/src/update_script.rs to match"
        );
    }
    Ok(())
}

/// Writes the script; returns its path. Each SQL command is on one line.
pub fn write_script(dir: &Path, skus: &[&str]) -> anyhow::Result<PathBuf> {
    let path = dir.join("update.sql");
    std::fs::write(&path, script(skus)).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The SQL naming the SKU a transaction works on: the `:i`-th of `skus`
/// (each script sets `i` at random first).
fn picked_sku(skus: &[&str]) -> String {
    let list = skus
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("(ARRAY[{list}])[:i]")
}

/// One update, as PostgreSQL sees it: lock and load the stream, look the
/// operation id up, append the event, insert the change, rewrite the stock
/// row and the snapshot (the aggregate's figures: quantity and version).
/// Delta is always +1, so no stock goes below its start and the store's own
/// updates afterwards never see insufficient stock.
fn script(skus: &[&str]) -> String {
    let sku = picked_sku(skus);
    let next_event = format!(
        "e.aggregate_type = 'StockItem' AND e.aggregate_id = {sku} \
         AND e.sequence = (SELECT last_sequence + 1 FROM snapshots \
         WHERE aggregate_type = 'StockItem' AND aggregate_id = {sku})"
    );
    [
        format!("\\set i random(1, {})", skus.len()),
        "BEGIN;".to_owned(),
        format!(
            "SELECT s.aggregate_id, s.last_sequence, s.payload, \
             (SELECT jsonb_agg(e.payload ORDER BY e.sequence) FROM events e \
             WHERE e.aggregate_type = s.aggregate_type AND e.aggregate_id = s.aggregate_id \
             AND e.sequence > s.last_sequence) AS later_events \
             FROM snapshots s WHERE s.aggregate_type = 'StockItem' AND s.aggregate_id = ANY(ARRAY[{sku}]) \
             ORDER BY s.aggregate_id FOR UPDATE OF s;"
        ),
        "SELECT sku, delta, expected_version, quantity_after, version_after, occurred_at \
         FROM changes WHERE operation_id = (SELECT gen_random_uuid());"
            .to_owned(),
        format!(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload) \
             SELECT 'StockItem', s.aggregate_id, s.last_sequence + 1, 'StockAdjusted', '1.0', \
             jsonb_build_object('StockAdjusted', jsonb_build_object('operation_id', gen_random_uuid(), \
             'delta', 1, 'expected_version', NULL, 'reason', NULL, 'at', now(), \
             'quantity', t.quantity + 1, 'version', t.version + 1)) \
             FROM snapshots s JOIN stock t ON t.sku = s.aggregate_id \
             WHERE s.aggregate_type = 'StockItem' AND s.aggregate_id = {sku};"
        ),
        format!(
            "INSERT INTO changes (operation_id, sku, delta, expected_version, reason, occurred_at, \
             quantity_after, version_after, position, status) \
             SELECT (e.payload #>> '{{StockAdjusted,operation_id}}')::uuid, e.aggregate_id, 1, NULL, NULL, \
             e.recorded_at, (e.payload #>> '{{StockAdjusted,quantity}}')::bigint, \
             (e.payload #>> '{{StockAdjusted,version}}')::bigint, e.position, 'pending' \
             FROM events e WHERE {next_event};"
        ),
        format!(
            "UPDATE stock t SET quantity = t.quantity + 1, version = t.version + 1, \
             pending_changes = t.pending_changes + 1, \
             last_operation_id = (e.payload #>> '{{StockAdjusted,operation_id}}')::uuid \
             FROM events e WHERE t.sku = {sku} AND {next_event};"
        ),
        format!(
            "UPDATE snapshots s SET last_sequence = s.last_sequence + 1, current_snapshot = s.last_sequence + 1, \
             payload = s.payload || jsonb_build_object('quantity', t.quantity, 'version', t.version) \
             FROM stock t WHERE s.aggregate_type = 'StockItem' AND s.aggregate_id = {sku} \
             AND t.sku = s.aggregate_id;"
        ),
        "COMMIT;".to_owned(),
    ]
    .join("\n")
        + "\n"
}

/// Scratch tables of the minimum-writes baseline, beside the store's own
/// (which it leaves alone): a version per SKU and the events it appends.
pub const MIN_WRITES_SETUP: &str = "
    CREATE TABLE IF NOT EXISTS bench_min_stock (sku text PRIMARY KEY, version bigint NOT NULL);
    INSERT INTO bench_min_stock (sku, version) SELECT sku, 0 FROM stock ON CONFLICT DO NOTHING;
    CREATE TABLE IF NOT EXISTS bench_min_events
        (sku text NOT NULL, version bigint NOT NULL, payload jsonb NOT NULL, PRIMARY KEY (sku, version))";

/// Writes the minimum-writes script into its own directory (pgbench's logs
/// go beside its script); returns its path: the least an update must write
/// — its stream's next version and its event — as two autocommit
/// statements, the version handed from one to the other.
pub fn write_min_writes_script(dir: &Path, skus: &[&str]) -> anyhow::Result<PathBuf> {
    let dir = dir.join("min-writes");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("min_writes.sql");
    std::fs::write(&path, min_writes(skus))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn min_writes(skus: &[&str]) -> String {
    let sku = picked_sku(skus);
    [
        format!("\\set i random(1, {})", skus.len()),
        format!("UPDATE bench_min_stock SET version = version + 1 WHERE sku = {sku} RETURNING version \\gset"),
        format!(
            "INSERT INTO bench_min_events (sku, version, payload) VALUES ({sku}, :version, '{{\"StockAdjusted\": {{\"delta\": 1}}}}');"
        ),
    ]
    .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_has_one_line_per_command() {
        let text = script(&["A-1", "B-2"]);
        assert_eq!(text.lines().count(), COMMANDS.len());
        assert!(text.contains("(ARRAY['A-1', 'B-2'])[:i]"));
    }

    #[test]
    fn the_minimum_writes_are_an_update_handing_its_version_to_an_insert() {
        let text = min_writes(&["A-1"]);
        assert_eq!(text.lines().count(), 3);
        assert!(text.contains("RETURNING version \\gset"), "{text}");
        assert!(text.contains(":version"), "{text}");
    }

    #[test]
    fn snapshot_shape_is_checked() {
        let figures = serde_json::json!({"quantity": 5, "version": 2});
        assert!(check_snapshot_shape(&figures).is_ok());
        let with_list = serde_json::json!({"quantity": 5, "version": 2, "pending": []});
        assert!(check_snapshot_shape(&with_list).is_err());
    }
}
