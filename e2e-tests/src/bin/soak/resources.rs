//! The processes' peak memory, sampled while the soak runs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use e2e_tests::harness::Stack;

/// Peak resident memory (`VmHWM`) of each service, in KiB, over every
/// process that served under its name.
#[derive(Debug, Default, Clone)]
pub struct PeakRss(pub BTreeMap<String, u64>);

impl PeakRss {
    /// Reads each running service's peak so far.
    pub fn sample(&mut self, stack: &Stack) {
        for service in stack.services() {
            let Some(pid) = stack.pid(service) else {
                continue;
            };
            if let Some(kib) = high_water_mark(pid) {
                let peak = self.0.entry(service.to_string()).or_default();
                *peak = (*peak).max(kib);
            }
        }
    }
}

/// Samples every second until `deadline`.
pub async fn sample_until(stack: &Stack, rss: &mut PeakRss, deadline: Instant) {
    loop {
        rss.sample(stack);
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        tokio::time::sleep((deadline - now).min(Duration::from_secs(1))).await;
    }
}

/// `VmHWM` of process `pid`, in KiB.
fn high_water_mark(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
