//! store-bench's HTTP load on `POST /v1/local/inventory/{sku}/update`.
//! Every connection is a task with its own keep-alive client sending
//! requests one after another; every loop ends at a deadline or a fixed
//! count.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tokio::task::JoinSet;

use bench::stats::{Errors, Rng, Summary, load_average};

/// Longest a single request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The store under load: its base URL and the token every update carries
/// (`None` when the store runs with `LOCAL_AUTH=off`).
#[derive(Debug, Clone)]
pub struct Target {
    pub base: String,
    pub token: Option<String>,
}

/// One connection: a client that keeps exactly one connection alive and
/// sends `target`'s token with every request.
fn client(target: &Target) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = &target.token {
        let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))?;
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .default_headers(headers)
        .build()?)
}

/// Sends one update; `Err` names the failure (any answer but 201 is one).
async fn update(client: &reqwest::Client, base: &str, sku: &str, delta: i64) -> Result<(), String> {
    let response = client
        .post(format!("{base}/v1/local/inventory/{sku}/update"))
        .json(&json!({ "delta": delta }))
        .send()
        .await
        .map_err(transport_error)?;
    let status = response.status();
    // Read the whole body so the connection can be reused.
    let body = response.bytes().await.map_err(transport_error)?;
    if status == StatusCode::CREATED {
        return Ok(());
    }
    let code = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned))
        .unwrap_or_default();
    Err(format!("{} {code}", status.as_u16()).trim_end().to_owned())
}

fn transport_error(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "timeout".into()
    } else if error.is_connect() {
        "connect error".into()
    } else {
        "transport error".into()
    }
}

/// Waits for every connection's task; their latencies and errors together.
async fn join_connections<T: 'static>(
    mut tasks: JoinSet<(Vec<T>, Errors)>,
) -> anyhow::Result<(Vec<T>, Errors)> {
    let mut all = Vec::new();
    let mut errors = Errors::default();
    while let Some(joined) = tasks.join_next().await {
        let (part, part_errors) = joined?;
        all.extend(part);
        errors.merge(part_errors);
    }
    Ok((all, errors))
}

/// What a fixed-duration run measured.
#[derive(Debug)]
pub struct LoadOutcome {
    pub connections: usize,
    pub window: Duration,
    pub summary: Summary,
    pub errors: Errors,
    /// CPU seconds by command name over the measured window.
    pub cpu: HashMap<String, f64>,
}

impl LoadOutcome {
    /// Successful updates per second in the measured window.
    pub fn throughput(&self) -> f64 {
        self.summary.count as f64 / self.window.as_secs_f64()
    }
}

/// Part 2: `connections` tasks update random SKUs for `warmup + duration`;
/// requests started during the warm-up are not counted. Each connection
/// alternates +1 and -1, sending the pair to the same randomly chosen SKU,
/// so no SKU ever drops below its starting stock.
pub async fn fixed_duration(
    target: &Target,
    skus: &'static [&'static str],
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<LoadOutcome> {
    let start = Instant::now();
    let measure_from = start + warmup;
    let deadline = measure_from + duration;
    let mut tasks = JoinSet::new();
    for _ in 0..connections {
        let client = client(target)?;
        let base = target.base.clone();
        tasks.spawn(async move {
            let mut rng = Rng::new();
            let mut latencies = Vec::new();
            let mut errors = Errors::default();
            let mut sku = skus[0];
            let mut i: u64 = 0;
            while Instant::now() < deadline {
                let delta = if i.is_multiple_of(2) {
                    sku = skus[rng.below(skus.len())];
                    1
                } else {
                    -1
                };
                let sent = Instant::now();
                let result = update(&client, &base, sku, delta).await;
                let latency = sent.elapsed();
                if sent >= measure_from {
                    match result {
                        Ok(()) => latencies.push(latency),
                        Err(kind) => errors.add(kind),
                    }
                }
                i += 1;
            }
            (latencies, errors)
        });
    }
    // Every process's CPU at the start and the end of the measured window.
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = bench::cpu::every_process();
        tokio::time::sleep_until(deadline.into()).await;
        bench::cpu::spent_by_name(&before, &bench::cpu::every_process())
    });
    let (latencies, errors) = join_connections(tasks).await?;
    Ok(LoadOutcome {
        connections,
        window: duration,
        summary: Summary::of(latencies, errors.total()),
        errors,
        cpu: cpu.await?,
    })
}

/// Latencies of the appends made while the stream had a given length.
#[derive(Debug)]
pub struct Bucket {
    pub label: String,
    pub summary: Summary,
}

/// What appending the long stream did.
#[derive(Debug)]
pub struct AppendOutcome {
    pub appended: u64,
    pub elapsed: Duration,
    pub timed_out: bool,
    pub errors: Errors,
    pub buckets: Vec<Bucket>,
}

/// Part 4a: append `total` updates to one SKU over `connections` tasks,
/// printing progress every 10 s; stops early at `limit`. Each connection
/// alternates +1/-1 starting with +1, so the stock never drops below its
/// start.
pub async fn append_stream(
    target: &Target,
    sku: &'static str,
    total: u64,
    connections: usize,
    limit: Duration,
) -> anyhow::Result<AppendOutcome> {
    const BUCKETS: u64 = 10;
    let bucket_size = total.div_ceil(BUCKETS).max(1);
    let start = Instant::now();
    let deadline = start + limit;
    let tickets = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..connections {
        let client = client(target)?;
        let base = target.base.clone();
        let (tickets, done) = (tickets.clone(), done.clone());
        tasks.spawn(async move {
            let mut latencies: Vec<(u64, Duration)> = Vec::new();
            let mut errors = Errors::default();
            let mut i: u64 = 0;
            loop {
                let ticket = tickets.fetch_add(1, Ordering::Relaxed);
                if ticket >= total || Instant::now() >= deadline {
                    break;
                }
                let delta = if i.is_multiple_of(2) { 1 } else { -1 };
                let sent = Instant::now();
                match update(&client, &base, sku, delta).await {
                    Ok(()) => {
                        latencies.push((ticket, sent.elapsed()));
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(kind) => errors.add(kind),
                }
                i += 1;
            }
            (latencies, errors)
        });
    }
    let progress = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            tick.tick().await;
            let mut last = 0;
            loop {
                tick.tick().await;
                let now = done.load(Ordering::Relaxed);
                let rate = (now - last) as f64 / 10.0;
                let eta = if rate > 0.0 {
                    format!("{:.0} s", total.saturating_sub(now) as f64 / rate)
                } else {
                    "?".to_owned()
                };
                eprintln!(
                    "[long stream] {now}/{total} appended after {:.0} s, {rate:.0}/s now, eta {eta}, load {}",
                    start.elapsed().as_secs_f64(),
                    load_average()
                );
                last = now;
            }
        })
    };
    let (all, errors) = join_connections(tasks).await?;
    progress.abort();
    let elapsed = start.elapsed();
    let appended = done.load(Ordering::Relaxed);
    let mut per_bucket: Vec<Vec<Duration>> = vec![Vec::new(); BUCKETS as usize];
    for (ticket, latency) in all {
        per_bucket[((ticket / bucket_size) as usize).min(BUCKETS as usize - 1)].push(latency);
    }
    let buckets = per_bucket
        .into_iter()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| {
            let from = i as u64 * bucket_size;
            Bucket {
                label: format!("{from}–{}", (from + bucket_size).min(total)),
                summary: Summary::of(l, 0),
            }
        })
        .collect();
    Ok(AppendOutcome {
        appended,
        elapsed,
        timed_out: appended < total && Instant::now() >= deadline,
        errors,
        buckets,
    })
}

/// Part 4b: one connection, `per_sku` sequential updates on each of two SKUs,
/// alternating between them so background load affects both alike.
pub async fn alternating_sample(
    target: &Target,
    long: &str,
    fresh: &str,
    per_sku: usize,
) -> anyhow::Result<(Summary, Summary)> {
    let client = client(target)?;
    let base = target.base.as_str();
    let mut latencies = [Vec::with_capacity(per_sku), Vec::with_capacity(per_sku)];
    let mut errors = [0u64, 0u64];
    for i in 0..per_sku * 2 {
        let which = i % 2;
        let sku = [long, fresh][which];
        let delta = if (i / 2).is_multiple_of(2) { 1 } else { -1 };
        let sent = Instant::now();
        match update(&client, base, sku, delta).await {
            Ok(()) => latencies[which].push(sent.elapsed()),
            Err(_) => errors[which] += 1,
        }
    }
    let [long_latencies, fresh_latencies] = latencies;
    Ok((
        Summary::of(long_latencies, errors[0]),
        Summary::of(fresh_latencies, errors[1]),
    ))
}
