//! What one central_bench measurement cost in CPU: central-app's, the
//! benchmark database's PostgreSQL backends' and this load generator's
//! seconds, and the share of the machine that was busy.

use std::collections::HashMap;

use bench::cpu;
use sqlx::PgConnection;

use crate::server::Central;

/// CPU counters at one moment.
pub struct Cpu {
    central: f64,
    backends: HashMap<u32, f64>,
    own: f64,
    machine: (f64, f64),
}

impl Cpu {
    /// Reads the counters; `monitor` (a connection to the benchmark
    /// database, left out) lists the backends.
    pub async fn take(central: &Central, monitor: &mut PgConnection) -> anyhow::Result<Self> {
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(central.db_name())
        .fetch_all(monitor)
        .await?;
        Ok(Self {
            central: central.pid().and_then(cpu::process_seconds).unwrap_or(0.0),
            backends: pids
                .into_iter()
                .filter_map(|p| Some((p as u32, cpu::process_seconds(p as u32)?)))
                .collect(),
            own: cpu::process_seconds(std::process::id()).unwrap_or(0.0),
            machine: cpu::machine_ticks().unwrap_or((0.0, 1.0)),
        })
    }

    /// [central, postgres, load generator] seconds and the busy share.
    pub fn since(&self, before: &Self) -> ([f64; 3], f64) {
        let backends = self
            .backends
            .iter()
            .map(|(pid, cpu)| cpu - before.backends.get(pid).unwrap_or(&0.0))
            .sum();
        let (busy, total) = (
            self.machine.0 - before.machine.0,
            self.machine.1 - before.machine.1,
        );
        let cpu = [
            self.central - before.central,
            backends,
            self.own - before.own,
        ];
        (cpu, busy / total.max(1e-9))
    }
}
