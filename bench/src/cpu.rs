//! CPU time read from `/proc` (Linux; user + system time in clock ticks of
//! 10 ms): of one process, of every process on the machine, and of the
//! machine as a whole; and a process's peak memory. A benchmark reads them before and after a
//! measurement and reports the differences.

use std::collections::HashMap;

/// Command name and user + system CPU seconds of a process.
pub fn process(pid: u32) -> Option<(String, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, tail) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1;
    let fields: Vec<&str> = tail.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some((name.to_owned(), ticks / 100.0))
}

/// User + system CPU seconds of a process.
pub fn process_seconds(pid: u32) -> Option<f64> {
    process(pid).map(|(_, seconds)| seconds)
}

/// Every process now: pid → (command name, CPU seconds).
pub fn every_process() -> HashMap<u32, (String, f64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, process(pid)?)))
        .collect()
}

/// CPU seconds by command name (`store-app`, `postgres`, `beam.smp`, …)
/// spent between two [`every_process`] readings, by processes alive at the
/// second (a process that ended in between is not counted).
pub fn spent_by_name(
    before: &HashMap<u32, (String, f64)>,
    after: &HashMap<u32, (String, f64)>,
) -> HashMap<String, f64> {
    let mut spent = HashMap::new();
    for (pid, (name, seconds)) in after {
        let earlier = before.get(pid).map_or(0.0, |(_, s)| *s);
        *spent.entry(name.clone()).or_insert(0.0) += (seconds - earlier).max(0.0);
    }
    spent
}

/// (busy, total) CPU ticks of the machine since boot, all cores together
/// (idle and iowait are not busy).
pub fn machine_ticks() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let total: f64 = ticks.iter().take(8).sum();
    Some((total - ticks.get(3)? - ticks.get(4)?, total))
}

/// Peak resident memory (`VmHWM`) of process `pid` so far, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_and_the_machine() {
        let (name, seconds) = process(std::process::id()).expect("own stat");
        assert!(!name.is_empty());
        assert!(seconds >= 0.0);
        assert!(every_process().contains_key(&std::process::id()));
        let (busy, total) = machine_ticks().expect("/proc/stat");
        assert!(busy <= total && total > 0.0);
    }
}
