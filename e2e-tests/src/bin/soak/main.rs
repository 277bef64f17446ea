//! `soak`: the standing chaos soak. It starts a whole stack of real
//! processes (central, two stores, two worker replicas) on fresh databases
//! and a private RabbitMQ vhost, offers load like real tills and head
//! office, injects faults drawn from a seed, then quiesces and checks that
//! every acknowledged change is applied exactly once (or rejected with its
//! reason) and that every projection agrees with its log.
//!
//! ```text
//! cargo build --release --workspace --bins
//! target/release/soak --minutes 20 --faults 60 --seed 42
//! ```
//!
//! It runs the `central-app`, `store-app` and `sync-worker` binaries beside
//! itself (`E2E_BIN_DIR` overrides), prints the seed first, a summary last,
//! writes a JSON report (`--report`) and exits 1 on any violation, naming
//! the seed and the first violating operation.

mod check;
mod faults;
mod holds;
mod load;
mod movements;
mod report;
mod resources;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use e2e_tests::harness::{Stack, StackOptions, infra};
use tokio::sync::watch;

use crate::load::Record;
use crate::report::Report;

/// SKUs each store sells.
const SKUS: usize = 200;
/// Every SKU's opening quantity: deep enough that sales seldom run out.
const OPENING_QUANTITY: i64 = 100_000;

/// What to run.
#[derive(Debug, Parser)]
#[command(
    name = "soak",
    about = "Chaos soak of the whole stack, with an exactly-once check"
)]
struct Args {
    /// How long to offer load, in minutes (decimals allowed).
    #[arg(long, default_value_t = 20.0)]
    minutes: f64,
    /// How many faults to inject during the run.
    #[arg(long, default_value_t = 60)]
    faults: usize,
    /// Seed of the fault schedule and the load; random when absent.
    #[arg(long)]
    seed: Option<u64>,
    /// Store updates per second, over both stores.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Where to write the JSON report.
    #[arg(long, default_value = "target/soak-report.json")]
    report: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(rand::random);
    println!("soak seed {seed}");
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(PathBuf::from))
    {
        infra::use_binaries_in(dir);
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let report = runtime.block_on(run(&args, seed));
    report.print();
    if let Err(error) = report.write(&args.report) {
        eprintln!("cannot write {}: {error}", args.report.display());
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "soak FAILED with seed {seed}; first violation: {}",
            report.first_violation.as_deref().unwrap_or("?")
        );
        ExitCode::FAILURE
    }
}

async fn run(args: &Args, seed: u64) -> Report {
    let duration = Duration::from_secs_f64(args.minutes * 60.0);
    let catalogue = write_catalogue(seed);
    let schedule = faults::schedule(seed, args.faults, duration);
    for (at, fault) in &schedule {
        println!("fault at {:>7.1}s: {fault}", at.as_secs_f64());
    }
    let mut stack = Stack::start_with(StackOptions {
        stores: 2,
        workers: 2,
        own_vhost: true,
        catalogue: Some(catalogue.clone()),
        ..StackOptions::default()
    })
    .await;
    println!("stack up (logs in {})", stack.log_dir().display());

    let record = Arc::new(Record::default());
    let (stop_load, load_stopped) = watch::channel(false);
    let skus: Vec<String> = (1..=SKUS).map(sku).collect();
    let terminals = load::spawn(
        &stack,
        skus,
        args.rate,
        seed,
        Arc::clone(&record),
        load_stopped,
    );

    let started = Instant::now();
    let mut rss = resources::PeakRss::default();
    let injected = faults::run(&mut stack, &schedule, started, &mut rss).await;
    let faults_done = Instant::now();
    resources::sample_until(&stack, &mut rss, started + duration).await;
    let _ = stop_load.send(true);
    let _ = terminals.await;
    let quiet_since = Instant::now().max(faults_done);
    println!(
        "load stopped after {:.0}s; {} faults injected; checking",
        started.elapsed().as_secs_f64(),
        injected.len()
    );

    let verdict = check::run(&stack, &record, quiet_since).await;
    let _ = std::fs::remove_file(&catalogue);
    Report::new(seed, args, &record, &injected, verdict, rss)
}

/// The SKU numbered `n`.
fn sku(n: usize) -> String {
    format!("SOAK-{n:04}")
}

/// The soak's catalogue as a CSV file.
fn write_catalogue(seed: u64) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("soak-catalogue-{seed}-{}.csv", std::process::id()));
    let mut csv = String::from("sku,name,quantity\n");
    for n in 1..=SKUS {
        csv.push_str(&format!("{},Soak item {n},{OPENING_QUANTITY}\n", sku(n)));
    }
    std::fs::write(&path, csv).expect("write the soak catalogue");
    path
}
