//! sync_bench's latency phase: open-loop updates at a steady rate (a tokio
//! interval, one task per update, stores alternating, random SKU and ±1,
//! each with a client-chosen UUIDv7 operation id). The latency of an update
//! is `recorded_at` of its `ChangeApplied` at central (central's database;
//! the start of the batch's transaction) minus the moment its 201 reached
//! the client.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bench::stats::{Rng, fmt_ms as ms, load_average, percentile};
use uuid::Uuid;

use crate::Cli;
use crate::observe::breakdown;
use crate::stack::Stack;
use crate::updates::update;

/// Updates at `rate` per second for `--duration` s, then the report.
pub async fn run(cli: &Cli, stack: &Stack, rate: u32) -> anyhow::Result<()> {
    let total = rate as u64 * cli.duration;
    eprintln!("[latency] {rate} updates/s for {} s", cli.duration);
    stack.analyze(cli).await?;
    let before = stack.observe().await;
    let load_before = load_average();
    let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let mut tasks = tokio::task::JoinSet::new();
    let mut rng = Rng::new();
    let started = Instant::now();
    for i in 0..total {
        interval.tick().await;
        let (http, till) = (stack.http.clone(), stack.tills[i as usize % 2].clone());
        let (sku, delta) = (rng.below(cli.skus), if rng.below(2) == 0 { 1 } else { -1 });
        tasks.spawn(async move {
            let operation_id = Uuid::now_v7();
            let sent = Instant::now();
            let result = update(&http, &till, sku, delta, operation_id).await;
            (operation_id, result, sent.elapsed())
        });
    }
    let scheduled = started.elapsed();
    let (mut accepted, mut store_latency, mut errors) = (HashMap::new(), Vec::new(), Vec::new());
    while let Some(joined) = tasks.join_next().await {
        let (operation_id, result, took) = joined?;
        match result {
            Ok(at) => {
                accepted.insert(operation_id, at);
                store_latency.push(took);
            }
            Err(error) => errors.push(error.to_string()),
        }
    }
    let last_accepted = Instant::now();
    let ids: Vec<Uuid> = accepted.keys().copied().collect();
    let central = &stack.central_db;
    let give_up = Instant::now() + Duration::from_secs(120);
    let arrived = loop {
        let arrived: i64 =
            sqlx::query_scalar("SELECT count(*) FROM operations WHERE operation_id = ANY($1)")
                .bind(&ids)
                .fetch_one(central)
                .await?;
        if arrived as usize >= ids.len() || Instant::now() > give_up {
            break arrived;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let catch_up = last_accepted.elapsed();
    let after = stack.observe().await;
    let depths = stack.queue_depths().await.unwrap_or_default();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT payload -> 'ChangeApplied' ->> 'operation_id', (extract(epoch FROM recorded_at) * 1000000)::int8
           FROM events WHERE event_type = 'ChangeApplied' AND (payload -> 'ChangeApplied' ->> 'operation_id')::uuid = ANY($1)")
        .bind(&ids).fetch_all(central).await?;
    let (mut latencies, mut early) = (Vec::new(), 0);
    for (id, recorded) in rows {
        if let Some(at) = id.parse::<Uuid>().ok().and_then(|id| accepted.get(&id)) {
            early += usize::from(recorded < *at);
            latencies.push(Duration::from_micros(
                recorded.saturating_sub(*at).max(0) as u64
            ));
        }
    }
    latencies.sort_unstable();
    store_latency.sort_unstable();
    let p99 = percentile(&latencies, 0.99);
    println!("### {rate} updates/s for {} s\n", cli.duration);
    println!(
        "- {} updates scheduled in {:.1} s ({:.0}/s offered), {} accepted (201), {} refused{}",
        total,
        scheduled.as_secs_f64(),
        total as f64 / scheduled.as_secs_f64(),
        accepted.len(),
        errors.len(),
        errors
            .first()
            .map_or(String::new(), |e| format!(" (first: {e})"))
    );
    println!(
        "- store answer (201) latency: p50 {}, p99 {}, max {}",
        ms(percentile(&store_latency, 0.5)),
        ms(percentile(&store_latency, 0.99)),
        ms(store_latency.last().copied().unwrap_or_default())
    );
    println!(
        "- central had {arrived} of {} {:.2} s after the last 201; nudges left in the store queues then: {depths:?}",
        ids.len(),
        catch_up.as_secs_f64()
    );
    println!(
        "- load average before / after: {load_before} / {}\n",
        load_average()
    );
    println!(
        "| rate | updates measured | p50 | p90 | p99 | max | recorded_at before the 201 (counted as 0) |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {rate}/s | {} | {} | {} | {} | {} | {early} |\n",
        latencies.len(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.9)),
        ms(p99),
        ms(latencies.last().copied().unwrap_or_default())
    );
    if rate == 500 {
        println!(
            "Target p99 < 1 s at 500 updates/s: {}.\n",
            if p99 < Duration::from_secs(1) && arrived as usize == ids.len() {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    breakdown(stack, &before, &after);
    let idle = Instant::now();
    while stack
        .queue_depths()
        .await
        .unwrap_or_default()
        .iter()
        .any(|d| *d > 0)
        && idle.elapsed() < Duration::from_secs(300)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "The worker took {:.1} s more to work off the nudges left in the queues (one sync each).\n",
        idle.elapsed().as_secs_f64()
    );
    Ok(())
}
