//! The soak's report: a human summary and a JSON document.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::Args;
use crate::check::Verdict;
use crate::faults::Injected;
use crate::load::{Origin, Record, lock};
use crate::resources::PeakRss;

/// Violations listed in full in the JSON, at most.
const LISTED: usize = 20;

/// What one soak run did and found.
#[derive(Debug, Serialize)]
pub struct Report {
    pub seed: u64,
    pub minutes: f64,
    pub rate: f64,
    /// Changes acknowledged with a 201: store updates plus head-office
    /// adjusts.
    pub acked: usize,
    pub acked_store_updates: usize,
    pub acked_head_office: usize,
    /// Answers by kind and status (`store 201`, `store 409`, …).
    pub answers: BTreeMap<String, u64>,
    /// Attempts sent again after a timeout, a lost connection or a 5xx.
    pub retries: u64,
    /// Operations a client gave up on, never answered.
    pub abandoned: usize,
    pub faults: usize,
    pub faults_by_kind: BTreeMap<String, usize>,
    pub lost: usize,
    pub duplicated: usize,
    pub stuck: usize,
    pub mismatches: usize,
    pub abuse: usize,
    /// Store changes central rejected, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Transfers by final status at central.
    pub transfers: BTreeMap<String, u64>,
    /// Holds by final status at central.
    pub holds: BTreeMap<String, u64>,
    pub convergence_seconds: Option<f64>,
    pub propagation_p50_seconds: Option<f64>,
    pub propagation_p99_seconds: Option<f64>,
    /// Peak resident memory of each service, in MiB.
    pub peak_rss_mib: BTreeMap<String, f64>,
    pub first_violation: Option<String>,
    /// The first violations of each kind.
    pub violations: BTreeMap<String, Vec<String>>,
    pub fault_log: Vec<String>,
}

impl Report {
    pub fn new(
        seed: u64,
        args: &Args,
        record: &Record,
        injected: &[Injected],
        verdict: Verdict,
        rss: PeakRss,
    ) -> Self {
        let acked = lock(&record.acked);
        let store_updates = acked.iter().filter(|a| a.origin == Origin::Store).count();
        let mut faults_by_kind = BTreeMap::new();
        for fault in injected {
            *faults_by_kind
                .entry(fault.fault.kind().to_owned())
                .or_default() += 1;
        }
        let abandoned = lock(&record.abandoned).len();
        let first_violation = verdict
            .first()
            .or_else(|| (abandoned > 0).then(|| format!("{abandoned} operations never answered")));
        let listed = |found: &[String]| found.iter().take(LISTED).cloned().collect::<Vec<_>>();
        let violations = BTreeMap::from([
            ("lost".to_owned(), listed(&verdict.lost)),
            ("duplicated".to_owned(), listed(&verdict.duplicated)),
            ("stuck".to_owned(), listed(&verdict.stuck)),
            ("mismatches".to_owned(), listed(&verdict.mismatches)),
            ("abuse".to_owned(), listed(&verdict.abuse)),
        ]);
        Self {
            seed,
            minutes: args.minutes,
            rate: args.rate,
            acked: acked.len(),
            acked_store_updates: store_updates,
            acked_head_office: acked.len() - store_updates,
            answers: lock(&record.answers).clone().into_iter().collect(),
            retries: *lock(&record.retries),
            abandoned,
            faults: injected.len(),
            faults_by_kind,
            lost: verdict.lost.len(),
            duplicated: verdict.duplicated.len(),
            stuck: verdict.stuck.len(),
            mismatches: verdict.mismatches.len(),
            abuse: verdict.abuse.len(),
            rejected: verdict.rejected.into_iter().collect(),
            transfers: verdict.transfers.into_iter().collect(),
            holds: verdict.holds.into_iter().collect(),
            convergence_seconds: verdict.convergence_seconds,
            propagation_p50_seconds: verdict.propagation.map(|(p50, _)| p50),
            propagation_p99_seconds: verdict.propagation.map(|(_, p99)| p99),
            peak_rss_mib: rss
                .0
                .into_iter()
                .map(|(name, kib)| (name, (kib as f64 / 1024.0 * 10.0).round() / 10.0))
                .collect(),
            first_violation,
            violations,
            fault_log: injected
                .iter()
                .map(|f| format!("{:.1}s {} ({:.1}s)", f.at, f.fault, f.took))
                .collect(),
        }
    }

    /// Whether the run kept every promise.
    pub fn passed(&self) -> bool {
        self.first_violation.is_none() && self.convergence_seconds.is_some()
    }

    /// The human summary.
    pub fn print(&self) {
        println!("--- soak summary (seed {}) ---", self.seed);
        println!(
            "acked {} ({} store updates, {} head-office adjusts); {} retries, {} abandoned",
            self.acked,
            self.acked_store_updates,
            self.acked_head_office,
            self.retries,
            self.abandoned
        );
        println!("answers: {:?}", self.answers);
        println!("faults {}: {:?}", self.faults, self.faults_by_kind);
        println!(
            "lost {}, duplicated {}, stuck {}, mismatches {}, abuse {}",
            self.lost, self.duplicated, self.stuck, self.mismatches, self.abuse
        );
        println!("rejected by central: {:?}", self.rejected);
        println!("transfers at central: {:?}", self.transfers);
        println!("holds at central: {:?}", self.holds);
        match self.convergence_seconds {
            Some(seconds) => println!("converged {seconds:.1}s after the last fault and the load"),
            None => println!("did NOT converge"),
        }
        if let (Some(p50), Some(p99)) = (self.propagation_p50_seconds, self.propagation_p99_seconds)
        {
            println!(
                "propagation store -> central: p50 {:.0} ms, p99 {:.0} ms",
                p50 * 1e3,
                p99 * 1e3
            );
        }
        println!("peak RSS (MiB): {:?}", self.peak_rss_mib);
        for (kind, found) in &self.violations {
            for violation in found.iter().take(5) {
                println!("{kind}: {violation}");
            }
        }
        println!(
            "{}",
            if self.passed() {
                "soak PASSED"
            } else {
                "soak FAILED"
            }
        );
    }

    /// Writes the JSON report to `path`.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_vec_pretty(self)?)
    }
}
