//! central_bench's load: `POST /v1/sync/batch` with batches of unconditional
//! ±1 changes (fresh UUIDv7 each), from one or more connections, each on
//! stores of its own, for a fixed time.

use std::time::{Duration, Instant};

use anyhow::Context;
use bench::catalogue::{sku, store};
use bench::stats::{Rng, Summary};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::Cli;
use crate::cpu::Cpu;
use crate::server::Central;

/// What one (size, connections) measurement of central saw.
#[derive(Default)]
pub struct Pushed {
    /// Changes central applied (not replayed).
    pub applied: u64,
    /// Changes with any other outcome.
    pub other: u64,
    /// Latency of each batch.
    pub batches: Summary,
    pub elapsed: Duration,
    /// CPU seconds of central-app, of the database's PostgreSQL backends
    /// and of this load generator; share of the machine's CPU busy.
    pub cpu: [f64; 3],
    pub machine_busy: f64,
}

impl Pushed {
    /// Applied changes per second.
    pub fn rate(&self) -> f64 {
        self.applied as f64 / self.elapsed.as_secs_f64()
    }
}

/// `connections` tasks push `size`-change batches until `duration` is up;
/// task `c` rotates over the stores `s` with `s % connections == c`.
/// Change `i` of a batch goes to SKU `(offset + i) mod --skus`.
pub async fn push_for(
    central: &Central,
    cli: &Cli,
    token: &str,
    (size, connections): (usize, usize),
    duration: Duration,
    monitor: &mut PgConnection,
) -> anyhow::Result<Pushed> {
    let deadline = Instant::now() + duration;
    let cpu_before = Cpu::take(central, monitor).await?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..connections {
        let (url, token, skus) = (central.url("/v1/sync/batch"), token.to_owned(), cli.skus);
        let mine: Vec<String> = (0..cli.stores)
            .filter(|s| s % connections == c)
            .map(store)
            .collect();
        tasks.spawn(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(60))
                .build()?;
            let mut rng = Rng::new();
            let (mut applied, mut other, mut latencies) = (0, 0, Vec::new());
            let mut n = 0;
            while Instant::now() < deadline {
                let offset = rng.below(skus);
                let changes: Vec<Value> = (0..size)
                    .map(|i| {
                        json!({"operation_id": Uuid::now_v7(), "sku": sku((offset + i) % skus),
                               "delta": if rng.below(2) == 0 { 1 } else { -1 },
                               "occurred_at": "2026-11-25T12:00:00Z"})
                    })
                    .collect();
                let body = json!({"store_id": mine[n % mine.len()], "changes": changes});
                n += 1;
                let sent = Instant::now();
                let response = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await?;
                let status = response.status();
                let answer: Value = response.json().await?;
                latencies.push(sent.elapsed());
                anyhow::ensure!(status.is_success(), "central answered {status}: {answer}");
                for result in answer["results"].as_array().context("no results")? {
                    if result["outcome"] == "applied" && result["replayed"] != true {
                        applied += 1;
                    } else {
                        other += 1;
                    }
                }
            }
            anyhow::Ok((applied, other, latencies))
        });
    }
    let mut total = Pushed::default();
    let mut latencies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (applied, other, part) = joined??;
        total.applied += applied;
        total.other += other;
        latencies.extend(part);
    }
    total.elapsed = started.elapsed();
    (total.cpu, total.machine_busy) = Cpu::take(central, monitor).await?.since(&cpu_before);
    total.batches = Summary::of(latencies, 0);
    Ok(total)
}
