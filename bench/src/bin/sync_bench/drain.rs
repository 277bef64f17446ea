//! sync_bench's drain phase: SIGTERM the worker, make `--drain` updates
//! with `--drain-connections` connections, start the worker and time until
//! central holds every change (and until the stores have recorded every
//! outcome).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bench::stats::{Rng, load_average};
use uuid::Uuid;

use crate::Cli;
use crate::observe::{breakdown, syncs};
use crate::stack::Stack;
use crate::updates::update;

/// Stops the worker, builds the backlog, restarts the worker and times
/// the drain; then the report.
pub async fn run(cli: &Cli, stack: &mut Stack) -> anyhow::Result<()> {
    let stopped = stack.stop_worker().await?;
    eprintln!(
        "[drain] worker stopped (SIGTERM) in {:.2} s; creating {} updates over {} connections",
        stopped.as_secs_f64(),
        cli.drain,
        cli.drain_connections
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..cli.drain_connections {
        let (next, http, tills, skus, n) = (
            next.clone(),
            stack.http.clone(),
            stack.tills.clone(),
            cli.skus,
            cli.drain,
        );
        tasks.spawn(async move {
            let (mut rng, mut errors) = (Rng::new(), 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return errors;
                }
                let delta = if rng.below(2) == 0 { 1 } else { -1 };
                errors += usize::from(
                    update(&http, &tills[i % 2], rng.below(skus), delta, Uuid::now_v7())
                        .await
                        .is_err(),
                );
            }
        });
    }
    let mut errors = 0;
    while let Some(joined) = tasks.join_next().await {
        errors += joined?;
    }
    let load_time = started.elapsed();
    let pending = stack.pending().await?;
    let depths = stack.queue_depths().await.unwrap_or_default();
    let central = stack.central_db.clone();
    let baseline = Stack::count(&central, "SELECT count(*) FROM operations").await?;
    let base_position =
        Stack::count(&central, "SELECT coalesce(max(position), 0) FROM events").await?;
    eprintln!(
        "[drain] {} updates in {:.1} s ({errors} errors); {pending} pending; starting the worker",
        cli.drain,
        load_time.as_secs_f64()
    );
    stack.analyze(cli).await?;
    let before = stack.observe().await;
    let load_before = load_average();
    let started = Instant::now();
    stack.spawn_worker()?;
    let (mut ready, mut first, mut central_done, mut stores_done, mut max_load) =
        (None, None, None, None, 0.0f64);
    let give_up = started + Duration::from_secs(cli.drain_timeout);
    while stores_done.is_none() && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = started.elapsed();
        if ready.is_none()
            && stack
                .http
                .get(format!("{}/health/ready", stack.worker_url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        {
            ready = Some(t);
        }
        // max(position) is one index probe; count(*) only once it says done
        // (positions may have gaps, never duplicates).
        let appended = Stack::count(&central, "SELECT coalesce(max(position), 0) FROM events")
            .await?
            - base_position;
        if appended > 0 && first.is_none() {
            first = Some(t);
        }
        if central_done.is_none()
            && appended >= pending
            && Stack::count(&central, "SELECT count(*) FROM operations").await? - baseline
                >= pending
        {
            central_done = Some(t);
        }
        if central_done.is_some() && stack.pending().await? == 0 {
            stores_done = Some(t);
        }
        max_load = max_load.max(
            load_average()
                .split_whitespace()
                .next()
                .and_then(|l| l.parse().ok())
                .unwrap_or(0.0),
        );
    }
    // The last syncs log `sync done` after their pull: wait for them.
    let logged = Instant::now();
    while syncs(stack, before.log_offset, u64::MAX).pushed < pending as u64
        && logged.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = stack.observe().await;
    let secs = |t: Option<Duration>| {
        t.map_or("not reached".to_owned(), |t| {
            format!("{:.2} s", t.as_secs_f64())
        })
    };
    println!("## Drain of {} pending changes\n", pending);
    println!(
        "- backlog: {} updates through the stores' HTTP API ({} connections) in {:.1} s ({:.0}/s, {errors} refused); \
              {pending} pending at the stores; {depths:?} nudges waiting in the stores' queues",
        cli.drain,
        cli.drain_connections,
        load_time.as_secs_f64(),
        cli.drain as f64 / load_time.as_secs_f64()
    );
    println!(
        "- worker (BATCH_SIZE {}) started; after the start: ready {}, first change at central {}, every change at central {}, \
              every outcome recorded at the stores {}",
        cli.batch_size,
        secs(ready),
        secs(first),
        secs(central_done),
        secs(stores_done)
    );
    println!(
        "- load average before the start: {load_before}; highest 1-min load while draining: {max_load:.2}; at the end: {}\n",
        load_average()
    );
    if let Some(done) = central_done {
        let rate = pending as f64 / done.as_secs_f64();
        // Polled every 100 ms: too short a span says nothing.
        let from_first = first
            .map(|f| (done - f).as_secs_f64())
            .filter(|span| *span >= 1.0)
            .map_or("-".to_owned(), |span| {
                format!("{:.0}", pending as f64 / span)
            });
        println!(
            "| pending | worker start → all at central | changes/s (from start) | changes/s (from the first change) |"
        );
        println!("|---|---|---|---|");
        println!(
            "| {pending} | {:.2} s | {rate:.0} | {from_first} |\n",
            done.as_secs_f64()
        );
        println!(
            "Target drain ≥ 5,000 changes/s: {}.\n",
            if rate >= 5000.0 { "met" } else { "NOT met" }
        );
    } else {
        println!(
            "Target drain ≥ 5,000 changes/s: NOT met (not drained within {} s).\n",
            cli.drain_timeout
        );
    }
    breakdown(stack, &before, &after);
    Ok(())
}
