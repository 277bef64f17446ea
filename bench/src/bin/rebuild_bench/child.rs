//! One run of a `store-app` subcommand as a child process: its wall time,
//! what it printed, and its peak resident memory (`VmHWM` of
//! `/proc/<pid>/status`, read every 5 ms while it runs; the mark only
//! rises, so the last reading is the peak up to then).

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bench::binary::Binary;
use bench::cpu;

/// How a run went.
#[derive(Debug)]
pub struct Run {
    /// From spawning the process to its exit.
    pub elapsed: Duration,
    /// Peak resident memory, KiB.
    pub peak_kib: u64,
    /// What it printed on stdout.
    pub stdout: String,
}

/// Runs `store-app args…` on `database_url` to completion; fails with its
/// output unless it succeeds.
pub async fn run(store_app: &Binary, args: &[&str], database_url: &str) -> anyhow::Result<Run> {
    let env = [("DATABASE_URL", database_url.to_owned())];
    let started = Instant::now();
    let child = store_app
        .command(args, &env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting store-app {}", args.join(" ")))?;
    let pid = child.id().context("store-app exited at once")?;
    let peak = Arc::new(AtomicU64::new(0));
    let watcher = tokio::spawn(watch(pid, Arc::clone(&peak)));
    let output = child.wait_with_output().await?;
    let elapsed = started.elapsed();
    watcher.abort();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "store-app {} failed ({}): {stdout}{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(Run {
        elapsed,
        peak_kib: peak.load(Ordering::Relaxed),
        stdout,
    })
}

/// Keeps `peak` at the highest `VmHWM` of `pid` until the process is gone.
async fn watch(pid: u32, peak: Arc<AtomicU64>) {
    while let Some(kib) = cpu::peak_rss_kib(pid) {
        peak.fetch_max(kib, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
