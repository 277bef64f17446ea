//! PostgreSQL's own rate for a benchmark's writes: finding pgbench, running
//! a script with it (`-M prepared -r -l`), and reading its summary, its
//! per-statement latencies and its per-transaction log. The scripts
//! themselves belong to the benchmarks (store-bench's `update_script.rs`,
//! central_bench's `batch_script.rs`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::Command;

use crate::stats::Summary;

/// A pgbench binary that answered `--version`.
#[derive(Debug)]
pub struct Pgbench {
    pub path: PathBuf,
    /// What `--version` printed.
    pub version: String,
}

/// One pgbench run: `-f script` on `db_url` for `seconds`.
#[derive(Debug)]
pub struct Run<'a> {
    pub script: &'a Path,
    pub db_url: &'a str,
    /// `-c`.
    pub clients: usize,
    /// `-j` (at most `clients`).
    pub jobs: usize,
    /// `-T`.
    pub seconds: u64,
    /// `-D name=value` for each.
    pub defines: Vec<(&'static str, String)>,
}

/// What one pgbench run reported.
#[derive(Debug)]
pub struct PgbenchOutcome {
    pub tps: f64,
    pub latency_avg_ms: f64,
    pub transactions: u64,
    pub failed: u64,
    /// Average latency (ms) of each script command, in order (`-r`).
    pub statements: Vec<f64>,
    /// Percentiles of the per-transaction log (`-l`); its `errors` are the
    /// transactions logged as failed or skipped.
    pub latencies: Summary,
}

impl Pgbench {
    /// `explicit`, else PostgreSQL 15's pgbench, else `pgbench` on PATH.
    pub async fn locate(explicit: Option<&Path>) -> anyhow::Result<Self> {
        let candidates: Vec<PathBuf> = match explicit {
            Some(path) => vec![path.to_owned()],
            None => vec![
                PathBuf::from("/usr/lib/postgresql/15/bin/pgbench"),
                PathBuf::from("pgbench"),
            ],
        };
        for path in candidates {
            if let Ok(output) = Command::new(&path).arg("--version").output().await
                && output.status.success()
            {
                let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
                return Ok(Self { path, version });
            }
        }
        bail!("pgbench not found: install PostgreSQL's client tools or pass --pgbench")
    }

    /// `pgbench -n -M prepared -r -l -c N -j J -T secs [-D ...] -f script
    /// db`, bounded to the duration plus two minutes. The transaction logs
    /// go next to the script and are removed once read. Fails unless
    /// pgbench printed its summary and either succeeded or processed
    /// transactions.
    pub async fn run(&self, run: &Run<'_>) -> anyhow::Result<PgbenchOutcome> {
        let dir = run.script.parent().unwrap_or(Path::new("."));
        let prefix = format!("pgbench_c{}", run.clients);
        let mut command = Command::new(&self.path);
        command
            .current_dir(dir)
            .args(["-n", "-M", "prepared", "-r", "-l"])
            .arg(format!("--log-prefix={prefix}"))
            .args(["-c", &run.clients.to_string()])
            .args(["-j", &run.jobs.min(run.clients).to_string()])
            .args(["-T", &run.seconds.to_string()]);
        for (name, value) in &run.defines {
            command.arg("-D").arg(format!("{name}={value}"));
        }
        command
            .arg("-f")
            .arg(run.script)
            .arg(run.db_url)
            .kill_on_drop(true);
        let output = tokio::time::timeout(Duration::from_secs(run.seconds + 120), command.output())
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

/// Reads pgbench's summary and the `-r` latencies that follow it.
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
                Some(ms) => statements.push(ms),
                None => in_statements = false,
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
        assert_eq!(parsed.failed, 0);
        assert!((parsed.tps - 1234.56789).abs() < 1e-6);
        assert!((parsed.latency_avg_ms - 6.481).abs() < 1e-9);
        assert_eq!(parsed.statements.len(), 9);
        assert_eq!(parsed.statements[8], 3.0);
    }

    #[test]
    fn no_summary_is_no_outcome() {
        assert!(parse("pgbench: error: connection failed\n").is_none());
    }
}
