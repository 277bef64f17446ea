//! Where a phase's time went: a snapshot of the stack's counters before and
//! after (request time per route, the worker log's length, the CPU of every
//! process on the machine), and the breakdown printed from the two,
//! including the worker's `sync done` log lines in between.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bench::cpu;
use bench::stats::{Summary, fmt_ms};
use bench::table::Table;
use serde_json::Value;

use crate::metrics::{Routes, route_times};
use crate::stack::Stack;

/// A snapshot of everything a phase's breakdown is computed from.
pub struct Observation {
    routes: Vec<(&'static str, Routes)>,
    /// Length of the worker's log.
    pub log_offset: u64,
    /// CPU seconds of every process: pid → (label, seconds).
    cpu: HashMap<u32, (String, f64)>,
    machine: (f64, f64),
    at: Instant,
}

impl Stack {
    /// Reads the counters now.
    pub async fn observe(&self) -> Observation {
        let mut routes = Vec::new();
        for (name, url) in [
            ("central", &self.central_url),
            ("store1", &self.store_urls[0]),
            ("store2", &self.store_urls[1]),
        ] {
            routes.push((name, route_times(&self.scrape(url).await)));
        }
        let log_offset = std::fs::metadata(self.worker_log()).map_or(0, |m| m.len());
        let mut labels = HashMap::new();
        let named = [
            "stack central-app",
            "stack store-app 1",
            "stack store-app 2",
        ]
        .into_iter()
        .zip(&self.services);
        let worker = self.worker.iter().map(|w| ("stack sync-worker", w));
        for (label, child) in named.chain(worker) {
            labels.extend(child.id().map(|pid| (pid, label)));
        }
        labels.insert(std::process::id(), "stack load generator");
        let mut cpu = cpu::every_process();
        for (pid, (name, _)) in &mut cpu {
            if let Some(label) = labels.get(pid) {
                *name = (*label).to_owned();
            }
        }
        Observation {
            routes,
            log_offset,
            cpu,
            machine: cpu::machine_ticks().unwrap_or_default(),
            at: Instant::now(),
        }
    }
}

/// The worker's `sync done` lines between two offsets of its log.
#[derive(Default)]
pub struct Syncs {
    pub durations: Vec<Duration>,
    pub pushed: u64,
    pub batches: u64,
    pub pulled: u64,
}

/// Reads the `sync done` lines of the worker's log from byte `from` to
/// byte `to`.
pub fn syncs(stack: &Stack, from: u64, to: u64) -> Syncs {
    let text = std::fs::read(stack.worker_log()).unwrap_or_default();
    let to = (to as usize).min(text.len());
    let mut out = Syncs::default();
    for line in String::from_utf8_lossy(&text[(from as usize).min(to)..to]).lines() {
        match serde_json::from_str::<Value>(line) {
            Ok(entry) if entry["message"] == "sync done" => {
                let field = |name: &str| entry[name].as_u64().unwrap_or(0);
                out.durations
                    .push(Duration::from_millis(field("duration_ms")));
                out.pushed += field("pushed");
                out.batches += field("batches");
                out.pulled += field("pulled");
            }
            _ => {}
        }
    }
    out
}

/// Prints what happened between two observations: CPU per process, request
/// time per route, and the worker's `sync done` lines.
pub fn breakdown(stack: &Stack, before: &Observation, after: &Observation) {
    let wall = (after.at - before.at).as_secs_f64();
    let mut by_label: BTreeMap<&str, f64> = BTreeMap::new();
    for (pid, (label, cpu)) in &after.cpu {
        let earlier = before.cpu.get(pid).map_or(0.0, |(_, c)| *c);
        *by_label.entry(label).or_default() += cpu - earlier;
    }
    let busy_core_s = (after.machine.0 - before.machine.0) / 100.0;
    let listed: f64 = by_label.values().sum();
    let mut shares: Vec<(&str, f64)> = by_label
        .into_iter()
        .filter(|(_, c)| *c >= 0.01 * wall)
        .collect();
    shares.sort_by(|a, b| b.1.total_cmp(&a.1));
    let shares: Vec<String> = shares
        .iter()
        .map(|(l, c)| format!("{l} {:.0} %", 100.0 * c / wall))
        .collect();
    println!(
        "CPU over {wall:.1} s, in % of one core (`stack` = this benchmark's processes, others by command name): {}; \
         processes that exited meanwhile {:.0} %; machine busy {:.0} % of one core (2 cores = 200 %).\n",
        shares.join(", "),
        100.0 * (busy_core_s - listed).max(0.0) / wall,
        100.0 * busy_core_s / wall
    );
    let mut routes = Table::new(&["process", "route", "requests", "mean", "total"]);
    for ((name, b), (_, a)) in before.routes.iter().zip(&after.routes) {
        for (route, (sum, count)) in a {
            let (sum0, count0) = b.get(route).copied().unwrap_or_default();
            let (sum, count) = (sum - sum0, count - count0);
            if count >= 1.0 && !route.contains("/health") && !route.contains("/metrics") {
                routes.row(vec![
                    (*name).to_owned(),
                    format!("`{route}`"),
                    format!("{count:.0}"),
                    format!("{:.2} ms", sum * 1000.0 / count),
                    format!("{sum:.1} s"),
                ]);
            }
        }
    }
    print!("{routes}");
    let Syncs {
        durations,
        pushed,
        batches,
        pulled,
    } = syncs(stack, before.log_offset, after.log_offset);
    let total: Duration = durations.iter().sum();
    let summary = Summary::of(durations, 0);
    println!(
        "\nWorker `sync done` lines: {} syncs, {batches} batches, {pushed} changes pushed ({:.1} per sync), {pulled} pulled; \
              sync duration p50 {}, p99 {}, max {}, total {:.1} s.\n",
        summary.count,
        pushed as f64 / summary.count.max(1) as f64,
        fmt_ms(summary.p50),
        fmt_ms(summary.p99),
        fmt_ms(summary.max),
        total.as_secs_f64()
    );
}
