//! store-bench's result tables: the store's and pgbench's throughput at
//! each connection count, their comparison, and pgbench's per-statement
//! latencies.

use std::collections::HashMap;

use bench::pgbench::PgbenchOutcome;
use bench::stats::fmt_ms;
use bench::table::Table;

use crate::environment::Backlog;
use crate::load::LoadOutcome;
use crate::update_script::COMMANDS;

/// One connection count's results.
#[derive(Debug)]
pub struct Level {
    pub connections: usize,
    pub http: LoadOutcome,
    pub pgbench: PgbenchOutcome,
    /// CPU seconds by command name over a window inside pgbench's run.
    pub pg_cpu: CpuWindow,
    /// pgbench running the minimum writes of an update (issue 15's
    /// baseline), and its CPU.
    pub min_writes: PgbenchOutcome,
    pub min_cpu: CpuWindow,
    /// Pending changes per sample SKU when the store run began.
    pub store_backlog: Backlog,
    /// The same when the pgbench run began.
    pub pg_backlog: Backlog,
    /// The store's group commits over its run (warm-up included).
    pub group_commits: GroupCommits,
}

/// Changes and group commits, from the store's
/// `store_group_commit_changes` histogram.
#[derive(Clone, Copy, Debug, Default)]
pub struct GroupCommits {
    pub changes: f64,
    pub groups: f64,
}

impl GroupCommits {
    /// What happened between `before` and `self`.
    pub fn since(self, before: Self) -> Self {
        Self {
            changes: self.changes - before.changes,
            groups: self.groups - before.groups,
        }
    }

    /// Mean changes per group commit ("-" when none).
    pub fn mean(self) -> String {
        if self.groups > 0.0 {
            format!("{:.1}", self.changes / self.groups)
        } else {
            "-".to_owned()
        }
    }
}

/// CPU seconds by command name over a window of a run.
pub type CpuWindow = (HashMap<String, f64>, std::time::Duration);

/// pgbench's CPU per transaction (pgbench and its backends) over `cpu`'s
/// window, at `tps`.
fn pgbench_micros(cpu: &CpuWindow, tps: f64) -> f64 {
    let (spent, window) = cpu;
    let seconds = spent.get("pgbench").copied().unwrap_or(0.0)
        + spent.get("postgres").copied().unwrap_or(0.0);
    let transactions = tps * window.as_secs_f64();
    if transactions > 0.0 {
        seconds * 1e6 / transactions
    } else {
        0.0
    }
}

/// CPU per accepted update, every process that takes part (the store,
/// PostgreSQL's backends, RabbitMQ), against pgbench's CPU per transaction
/// (pgbench itself and PostgreSQL's backends), from `/proc` over each
/// measured window.
pub fn cpu_per_update(rows: &[Level]) {
    let mut table = Table::new(&[
        "connections",
        "store µs/update",
        "PostgreSQL µs/update",
        "RabbitMQ µs/update",
        "all µs/update",
        "pgbench µs/tx (pgbench + PostgreSQL)",
        "store / pgbench",
        "minimum writes µs/tx",
        "store / minimum writes (target ≤ 1.5×)",
    ]);
    let per = |seconds: f64, count: f64| {
        if count > 0.0 {
            seconds * 1e6 / count
        } else {
            0.0
        }
    };
    for row in rows {
        let updates = row.http.summary.count as f64;
        let of = |cpu: &HashMap<String, f64>, name: &str| cpu.get(name).copied().unwrap_or(0.0);
        let (store, pg, mq) = (
            per(of(&row.http.cpu, "store-app"), updates),
            per(of(&row.http.cpu, "postgres"), updates),
            per(of(&row.http.cpu, "beam.smp"), updates),
        );
        let bench = pgbench_micros(&row.pg_cpu, row.pgbench.tps);
        let min = pgbench_micros(&row.min_cpu, row.min_writes.tps);
        let all = store + pg + mq;
        table.row(vec![
            row.connections.to_string(),
            format!("{store:.0}"),
            format!("{pg:.0}"),
            format!("{mq:.0}"),
            format!("{all:.0}"),
            format!("{bench:.0}"),
            ratio(all, bench),
            format!("{min:.0}"),
            ratio(all, min),
        ]);
    }
    println!("## CPU per accepted update (from /proc, target ≤ 1.5× pgbench's per transaction)\n");
    println!("{table}");
}

fn ratio(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{:.2}×", part / whole)
    } else {
        "-".to_owned()
    }
}

/// The store against pgbench running only the minimum writes of an update
/// (issue 15's baseline: its stream's next version and its event, two
/// autocommit statements).
pub fn minimum_writes(rows: &[Level]) {
    let mut table = Table::new(&[
        "connections",
        "store updates/s",
        "minimum writes tps",
        "store / minimum writes",
        "targets (≥ 0.5× at 32)",
    ]);
    for row in rows {
        let (store, min) = (row.http.throughput(), row.min_writes.tps);
        let share = if min > 0.0 { store / min } else { 0.0 };
        table.row(vec![
            row.connections.to_string(),
            format!("{store:.0}"),
            format!("{min:.0}"),
            format!("{share:.2}×"),
            if row.connections == 32 {
                if share >= 0.5 { "met" } else { "NOT met" }.to_owned()
            } else {
                "(for 32)".to_owned()
            },
        ]);
    }
    println!("## Store against the minimum writes of an update\n");
    println!("{table}");
}

/// Parts 2 and 3 and their comparison.
pub fn throughput_tables(rows: &[Level]) {
    let mut store = Table::new(&[
        "connections",
        "updates/s",
        "p50",
        "p99",
        "max",
        "errors",
        "pending per SKU at start",
        "changes per group commit (mean)",
    ]);
    let mut pg = Table::new(&[
        "clients",
        "tps",
        "latency avg",
        "p50",
        "p99",
        "max",
        "transactions",
        "failed",
        "pending per SKU at start",
    ]);
    let mut compare = Table::new(&[
        "connections",
        "store updates/s",
        "pgbench tps",
        "store / pgbench",
        "store p99",
        "pgbench p99",
        "targets (≥ 50 %, p99 < 50 ms)",
    ]);
    for level in rows {
        let (connections, http, pgbench) = (&level.connections, &level.http, &level.pgbench);
        let errors = if http.errors.is_empty() {
            "0".to_owned()
        } else {
            format!("{} ({})", http.errors.total(), http.errors)
        };
        store.row(vec![
            http.connections.to_string(),
            format!("{:.0}", http.throughput()),
            fmt_ms(http.summary.p50),
            fmt_ms(http.summary.p99),
            fmt_ms(http.summary.max),
            errors,
            level.store_backlog.to_string(),
            level.group_commits.mean(),
        ]);
        pg.row(vec![
            connections.to_string(),
            format!("{:.0}", pgbench.tps),
            format!("{:.2} ms", pgbench.latency_avg_ms),
            fmt_ms(pgbench.latencies.p50),
            fmt_ms(pgbench.latencies.p99),
            fmt_ms(pgbench.latencies.max),
            pgbench.transactions.to_string(),
            pgbench.failed.to_string(),
            level.pg_backlog.to_string(),
        ]);
        let share = http.throughput() / pgbench.tps.max(1e-9);
        let p99_ms = http.summary.p99.as_secs_f64() * 1000.0;
        let verdict = if *connections == 32 {
            format!(
                "rate {}, p99 {}",
                if share >= 0.5 { "met" } else { "NOT met" },
                if p99_ms < 50.0 { "met" } else { "NOT met" }
            )
        } else {
            "(targets are for 32)".to_owned()
        };
        compare.row(vec![
            connections.to_string(),
            format!("{:.0}", http.throughput()),
            format!("{:.0}", pgbench.tps),
            format!("{:.0} %", share * 100.0),
            fmt_ms(http.summary.p99),
            fmt_ms(pgbench.latencies.p99),
            verdict,
        ]);
    }
    println!("## Store: POST /v1/local/inventory/{{sku}}/update\n");
    println!("{store}");
    println!("## pgbench: the same transaction in PostgreSQL\n");
    println!("{pg}");
    println!("## Store as a share of PostgreSQL's rate\n");
    println!("{compare}");
}

/// pgbench's per-statement average latencies (`-r`).
pub fn pgbench_statements(rows: &[Level]) {
    let mut header = vec!["statement".to_owned()];
    header.extend(rows.iter().map(|l| format!("-c {}", l.connections)));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header);
    for (i, label) in COMMANDS.iter().enumerate() {
        let mut cells = vec![(*label).to_owned()];
        for level in rows {
            cells.push(
                level
                    .pgbench
                    .statements
                    .get(i)
                    .map_or_else(|| "?".to_owned(), |ms| format!("{ms:.3} ms")),
            );
        }
        table.row(cells);
    }
    println!("pgbench per-statement average latency (`-r`):\n");
    println!("{table}");
}
