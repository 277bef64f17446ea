//! PostgreSQL's own rate for the writes of one update: a pgbench script with
//! the statements `store-app` runs (see `store-app/src/ledger/streams.rs`
//! and `projections/write.rs`), as separate statements.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::Command;

use crate::stats::Summary;

/// A pgbench binary that answered `--version`.
#[derive(Debug)]
pub struct Pgbench {
    pub path: PathBuf,
    pub version: String,
}

/// What one pgbench run reported.
#[derive(Debug)]
pub struct PgbenchOutcome {
    pub tps: f64,
    pub latency_avg_ms: f64,
    pub transactions: u64,
    pub failed: u64,
    /// Average latency per script command (`-r`), labelled.
    pub statements: Vec<(&'static str, f64)>,
    /// Percentiles of the per-transaction log (`-l`).
    pub latencies: Summary,
}

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

/// `--pgbench`, else PostgreSQL 15's pgbench, else `pgbench` on PATH.
pub async fn locate(explicit: Option<&Path>) -> anyhow::Result<Pgbench> {
    let (path, version) = bench::locate_pgbench(explicit).await?;
    Ok(Pgbench { path, version })
}

/// Fails unless the store's snapshots have the shape the script rewrites:
/// the aggregate's figures, `quantity` and `version`, and no pending list.
pub fn check_snapshot_shape(payload: &serde_json::Value) -> anyhow::Result<()> {
    let has = |key: &str| payload.get(key).is_some_and(serde_json::Value::is_i64);
    if !has("quantity") || !has("version") || payload.get("pending").is_some() {
        bail!(
            "the store's snapshot payload changed shape ({payload}); \
             update the UPDATE snapshots statement in bench/src/pgbench.rs to match"
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

/// One update, as PostgreSQL sees it: lock and load the stream, look the
/// operation id up, append the event, insert the change, rewrite the stock
/// row and the snapshot (the aggregate's figures: quantity and version).
/// Delta is always +1, so no stock goes below its start and the store's own
/// updates afterwards never see insufficient stock.
fn script(skus: &[&str]) -> String {
    let list = skus
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sku = format!("(ARRAY[{list}])[:i]");
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

impl Pgbench {
    /// `pgbench -n -M prepared -r -l -c N -j J -T secs -f script db`, bounded
    /// to the duration plus two minutes. The transaction logs go next to the
    /// script and are removed once read.
    pub async fn run(
        &self,
        script: &Path,
        db_url: &str,
        clients: usize,
        jobs: usize,
        seconds: u64,
    ) -> anyhow::Result<PgbenchOutcome> {
        let dir = script.parent().unwrap_or(Path::new("."));
        let prefix = format!("pgbench_c{clients}");
        let mut command = Command::new(&self.path);
        command
            .current_dir(dir)
            .args(["-n", "-M", "prepared", "-r", "-l"])
            .arg(format!("--log-prefix={prefix}"))
            .args(["-c", &clients.to_string()])
            .args(["-j", &jobs.min(clients).to_string()])
            .args(["-T", &seconds.to_string()])
            .arg("-f")
            .arg(script)
            .arg(db_url)
            .kill_on_drop(true);
        let output = tokio::time::timeout(Duration::from_secs(seconds + 120), command.output())
            .await
            .context("pgbench did not finish in time")?
            .context("running pgbench")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let latencies = read_transaction_logs(dir, &prefix)?;
        match parse(&stdout) {
            Some(mut outcome) if output.status.success() || outcome.transactions > 0 => {
                outcome.latencies = latencies;
                Ok(outcome)
            }
            _ => bail!(
                "pgbench failed ({}):\n{stdout}\n{}",
                output.status,
                stderr.lines().take(20).collect::<Vec<_>>().join("\n")
            ),
        }
    }
}

/// Reads and removes the `-l` logs `<prefix>.<pid>[.<thread>]`, whose
/// third column is each transaction's latency in microseconds.
fn read_transaction_logs(dir: &Path, prefix: &str) -> anyhow::Result<Summary> {
    let mut latencies = Vec::new();
    let mut failed = 0;
    let start = format!("{prefix}.");
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_log = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&start));
        if !is_log {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        for line in text.lines() {
            match line.split_whitespace().nth(2) {
                Some(us) => match us.parse::<u64>() {
                    Ok(us) => latencies.push(Duration::from_micros(us)),
                    Err(_) => failed += 1, // "failed" or "skipped"
                },
                None => continue,
            }
        }
        std::fs::remove_file(&path)?;
    }
    Ok(Summary::of(latencies, failed))
}

/// Reads pgbench's summary.
fn parse(stdout: &str) -> Option<PgbenchOutcome> {
    let mut tps = None;
    let mut latency = None;
    let mut transactions = None;
    let mut failed = 0;
    let mut statements = Vec::new();
    let mut in_statements = false;
    for line in stdout.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("tps = ") {
            tps = first_number(rest);
        } else if let Some(rest) = line.strip_prefix("latency average = ") {
            latency = first_number(rest);
        } else if let Some(rest) = line.strip_prefix("number of transactions actually processed: ")
        {
            transactions = first_number(rest).map(|n| n as u64);
        } else if let Some(rest) = line.strip_prefix("number of failed transactions: ") {
            failed = first_number(rest).map_or(0, |n| n as u64);
        } else if line.starts_with("statement latencies") {
            in_statements = true;
        } else if in_statements {
            match first_number(line) {
                Some(ms) if statements.len() < COMMANDS.len() => {
                    statements.push((COMMANDS[statements.len()], ms));
                }
                _ => in_statements = false,
            }
        }
    }
    Some(PgbenchOutcome {
        tps: tps?,
        latency_avg_ms: latency?,
        transactions: transactions?,
        failed,
        statements,
        latencies: Summary::default(),
    })
}

fn first_number(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pgbench_15_output() {
        let out = "\
transaction type: update.sql
scaling factor: 1
query mode: prepared
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 12345
number of failed transactions: 0 (0.000%)
latency average = 6.481 ms
initial connection time = 21.311 ms
tps = 1234.567890 (without initial connection time)
statement latencies in milliseconds and failures:
         0.001           0  \\set i random(1, 10)
         0.101           0  BEGIN;
         2.000           0  SELECT s.aggregate_id
         0.200           0  SELECT sku
         0.300           0  INSERT INTO events
         0.300           0  INSERT INTO changes
         0.300           0  UPDATE stock
         0.300           0  UPDATE snapshots
         3.000           0  COMMIT;
";
        let parsed = parse(out).expect("parsed");
        assert_eq!(parsed.transactions, 12345);
        assert!((parsed.tps - 1234.56789).abs() < 1e-6);
        assert!((parsed.latency_avg_ms - 6.481).abs() < 1e-9);
        assert_eq!(parsed.statements.len(), COMMANDS.len());
        assert_eq!(parsed.statements[8], ("COMMIT", 3.0));
    }

    #[test]
    fn script_has_one_line_per_command() {
        let text = script(&["A-1", "B-2"]);
        assert_eq!(text.lines().count(), COMMANDS.len());
        assert!(text.contains("(ARRAY['A-1', 'B-2'])[:i]"));
    }
}
