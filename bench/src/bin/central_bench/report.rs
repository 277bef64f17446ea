//! central_bench's result tables: central's batches, pgbench's run of the
//! same writes with central as a share of it, pgbench's per-command
//! latencies, and the verdict on the target.

use bench::pgbench::PgbenchOutcome;
use bench::stats::fmt_ms;
use bench::table::Table;

use crate::batch_script::STATEMENTS;
use crate::push::Pushed;

/// Central at one (batch size, connections).
pub struct CentralRow {
    pub size: usize,
    pub connections: usize,
    pub pushed: Pushed,
}

/// pgbench at one (batch size, clients).
pub struct PgRow {
    pub size: usize,
    pub clients: usize,
    pub outcome: PgbenchOutcome,
}

/// Prints every table, then the target's verdict.
pub fn print(central: &[CentralRow], pg: &[PgRow]) {
    println!("## Central: `POST /v1/sync/batch`\n");
    print!("{}", central_table(central));
    if !pg.is_empty() {
        println!("\n## PostgreSQL alone: pgbench, one batch's statements per transaction\n");
        print!("{}", pgbench_table(central, pg));
        println!("\nAverage latency per pgbench command (ms, `-r`):\n");
        print!("{}", statements_table(pg));
    }
    if let Some(row) = central.iter().find(|r| r.size == 500 && r.connections == 1) {
        let sequential = row.pushed.rate();
        println!(
            "\nTarget: a 500-change batch applies ≥ 5,000 changes/s: {sequential:.0} changes/s from one connection — {}.",
            if sequential >= 5000.0 {
                "met"
            } else {
                "NOT met"
            }
        );
    }
}

fn central_table(rows: &[CentralRow]) -> Table {
    let mut table = Table::new(&[
        "batch size",
        "connections",
        "batches",
        "changes/s",
        "batch p50",
        "batch p99",
        "max",
        "not applied",
        "CPU per 1,000 changes: central-app / PostgreSQL / load generator",
        "machine CPU busy",
    ]);
    for CentralRow {
        size,
        connections,
        pushed: p,
    } in rows
    {
        let cpu = p
            .cpu
            .map(|s| format!("{:.0}", s * 1e6 / p.applied.max(1) as f64))
            .join(" / ");
        table.row(vec![
            size.to_string(),
            connections.to_string(),
            p.batches.count.to_string(),
            format!("{:.0}", p.rate()),
            fmt_ms(p.batches.p50),
            fmt_ms(p.batches.p99),
            fmt_ms(p.batches.max),
            p.other.to_string(),
            format!("{cpu} ms"),
            format!("{:.0} %", p.machine_busy * 100.0),
        ]);
    }
    table
}

fn pgbench_table(central: &[CentralRow], rows: &[PgRow]) -> Table {
    let mut table = Table::new(&[
        "batch size",
        "clients",
        "tps",
        "changes/s (tps × size)",
        "latency avg",
        "p50",
        "p99",
        "failed",
        "central / pgbench",
    ]);
    for PgRow {
        size,
        clients,
        outcome: r,
    } in rows
    {
        let central_rate = central
            .iter()
            .find(|row| row.size == *size && row.connections == *clients)
            .map_or(0.0, |row| row.pushed.rate());
        let pg_rate = r.tps * *size as f64;
        table.row(vec![
            size.to_string(),
            clients.to_string(),
            format!("{:.0}", r.tps),
            format!("{pg_rate:.0}"),
            format!("{:.2} ms", r.latency_avg_ms),
            fmt_ms(r.latencies.p50),
            fmt_ms(r.latencies.p99),
            format!("{} of {}", r.failed, r.transactions),
            format!("{:.0} %", 100.0 * central_rate / pg_rate.max(1e-9)),
        ]);
    }
    table
}

fn statements_table(rows: &[PgRow]) -> Table {
    let mut header = vec!["command".to_owned()];
    header.extend(rows.iter().map(|r| format!("{} × {}", r.size, r.clients)));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header);
    for (i, name) in STATEMENTS.iter().enumerate() {
        let mut cells = vec![(*name).to_owned()];
        cells.extend(rows.iter().map(|r| {
            r.outcome
                .statements
                .get(i)
                .map_or("-".into(), |v| format!("{v:.3}"))
        }));
        table.row(cells);
    }
    table
}
