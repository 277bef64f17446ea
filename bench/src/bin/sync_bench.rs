//! `sync_bench`: how fast a store change reaches central through
//! `sync-worker`, and how fast the worker drains a backlog.
//!
//! It starts a whole stack from the release binaries, as the e2e harness
//! does: central, `STORE-001` and `STORE-002` and one worker, each on a
//! fresh database (`bench_<uuid>_*`), with a signing key, a worker client
//! and a private `AMQP_EXCHANGE`; a generated catalogue (stock 1,000,000)
//! on both sides. Then:
//!
//! 1. Propagation latency: open-loop updates at a steady rate (100/s, then
//!    500/s; tokio-interval paced, alternating stores, random SKU and ±1,
//!    each with a client-chosen UUIDv7 operation id). Latency of an update
//!    = `recorded_at` of its `ChangeApplied` at central (central's database;
//!    the start of the batch's transaction) − the moment its 201 reached the
//!    client. Where the time goes: the worker's `sync done` log lines and
//!    the services' `http_request_duration_seconds` over the phase.
//! 2. Drain: SIGTERM the worker, make `--drain` updates with 32 connections,
//!    start the worker and time until central holds every one (and until
//!    the stores have recorded every outcome).
//!
//! Each phase starts with `ANALYZE` of the three databases, as autovacuum
//! keeps statistics on a system in service (`--no-analyze`: tables without
//! statistics, as right after `migrate`). Each phase reports the CPU every
//! process on the machine used (the stack's own and any other), so
//! interference from other work shows.
//!
//! Everything is removed at the end (processes killed, databases dropped,
//! broker names deleted), also on error or Ctrl-C.
//!
//! ```sh
//! cargo build --release --bins
//! target/release/sync_bench [--rates 100,500] [--duration 20] [--drain 100000]
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use bench::stats::{Rng, fmt_ms as ms, load_average, percentile};
use bench::{StackArgs, drop_databases};
use clap::Parser;
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::process::{Child, Command};
use uuid::Uuid;

const STORES: [&str; 2] = ["STORE-001", "STORE-002"];

/// Benchmarks propagation latency and backlog drain of the sync worker.
#[derive(Debug, Parser)]
#[command(name = "sync_bench", version)]
struct Cli {
    #[command(flatten)]
    stack: StackArgs,
    /// Steady update rates (per second, over both stores) to measure.
    #[arg(long, value_delimiter = ',', default_value = "100,500")]
    rates: Vec<u32>,
    /// Seconds of load per rate.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Pending changes to drain (0 skips the drain).
    #[arg(long, default_value_t = 100_000)]
    drain: usize,
    /// Connections creating the backlog.
    #[arg(long, default_value_t = 32)]
    drain_connections: usize,
    /// Give up waiting for the drain after this many seconds.
    #[arg(long, default_value_t = 1800)]
    drain_timeout: u64,
    /// SKUs in the catalogue of each store.
    #[arg(long, default_value_t = 100)]
    skus: usize,
    /// The worker's `BATCH_SIZE`.
    #[arg(long, default_value_t = 500)]
    batch_size: u32,
    /// Keep the processes' logs (their directory is printed).
    #[arg(long)]
    keep_logs: bool,
    /// Do not `ANALYZE` the three databases before each phase: their
    /// tables then have no statistics until autovacuum gets to them, as
    /// in freshly migrated databases.
    #[arg(long)]
    no_analyze: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Ok(runtime) = tokio::runtime::Runtime::new() else {
        eprintln!("sync_bench: cannot start the runtime");
        return ExitCode::FAILURE;
    };
    runtime.block_on(async {
        let mut stack = match Stack::new(&cli) {
            Ok(stack) => stack,
            Err(error) => {
                eprintln!("sync_bench failed: {error:#}");
                return ExitCode::FAILURE;
            }
        };
        let outcome = tokio::select! {
            result = async { stack.start(&cli).await?; measure(&cli, &mut stack).await } => result,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        };
        let keep = cli.keep_logs || outcome.is_err();
        stack.teardown(keep).await;
        match outcome {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("sync_bench failed: {error:#}");
                ExitCode::FAILURE
            }
        }
    })
}

/// The running system and what it created.
struct Stack {
    admin_url: String,
    amqp_url: String,
    exchange: String,
    bin_dir: PathBuf,
    dir: PathBuf,
    databases: Vec<String>,
    created: Vec<String>,
    db_urls: Vec<String>,
    central_url: String,
    store_urls: Vec<String>,
    worker_url: String,
    worker_env: Vec<(&'static str, String)>,
    services: Vec<Child>,
    worker: Option<Child>,
    central_db: PgPool,
    store_dbs: Vec<PgPool>,
    http: reqwest::Client,
}

impl Stack {
    fn new(cli: &Cli) -> anyhow::Result<Self> {
        for bin in ["central-app", "store-app", "sync-worker"] {
            anyhow::ensure!(
                cli.stack.bin_dir.join(bin).is_file(),
                "{bin} missing in {}: run cargo build --release --bins",
                cli.stack.bin_dir.display()
            );
        }
        let id = Uuid::new_v4().simple().to_string();
        let databases: Vec<String> = ["central", "store1", "store2"]
            .iter()
            .map(|s| format!("bench_{id}_{s}"))
            .collect();
        let base = reqwest::Url::parse(&cli.stack.database_url).context("BENCH_DATABASE_URL")?;
        let db_urls: Vec<String> = databases
            .iter()
            .map(|name| {
                let mut url = base.clone();
                url.set_path(&format!("/{name}"));
                url.to_string()
            })
            .collect();
        // Lazy pools: they connect once the databases exist.
        let pool = |url: &String| PgPoolOptions::new().max_connections(2).connect_lazy(url);
        Ok(Self {
            admin_url: cli.stack.database_url.clone(),
            amqp_url: cli.stack.amqp_url.clone(),
            exchange: format!("bench-{id}"),
            bin_dir: cli.stack.bin_dir.clone(),
            dir: std::env::temp_dir().join(format!("sync-bench-{id}")),
            databases,
            created: Vec::new(),
            central_db: pool(&db_urls[0])?,
            store_dbs: db_urls[1..].iter().map(pool).collect::<Result<_, _>>()?,
            db_urls,
            central_url: String::new(),
            store_urls: Vec::new(),
            worker_url: String::new(),
            worker_env: Vec::new(),
            services: Vec::new(),
            worker: None,

            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
        })
    }

    fn command(&self, bin: &str, args: &[&str], env: &[(&str, String)]) -> Command {
        let mut command = Command::new(self.bin_dir.join(bin));
        command
            .args(args)
            .env_clear()
            .stdin(Stdio::null())
            .kill_on_drop(true);
        for key in ["PATH", "HOME", "TMPDIR"] {
            if let Ok(value) = std::env::var(key) {
                command.env(key, value);
            }
        }
        command
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info,sqlx=warn,lapin=warn");
        command.envs(env.iter().map(|(k, v)| (*k, v)));
        command
    }

    async fn task(&self, bin: &str, args: &[&str], env: &[(&str, String)]) -> anyhow::Result<()> {
        let output = self.command(bin, args, env).output().await?;
        anyhow::ensure!(
            output.status.success(),
            "{bin} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }

    fn spawn(&self, name: &str, mut command: Command) -> anyhow::Result<Child> {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{name}.log")))?;
        command
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        command.spawn().with_context(|| format!("starting {name}"))
    }

    async fn wait_ready(&self, url: &str, accept: impl Fn(&Value) -> bool) -> anyhow::Result<()> {
        let give_up = Instant::now() + Duration::from_secs(60);
        while Instant::now() < give_up {
            if let Ok(r) = self.http.get(url).send().await
                && r.status().is_success()
                && let Ok(body) = r.json::<Value>().await
                && accept(&body)
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "{url} not ready within 60 s (logs in {})",
            self.dir.display()
        )
    }

    async fn start(&mut self, cli: &Cli) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut admin = PgConnection::connect(&self.admin_url)
            .await
            .context("BENCH_DATABASE_URL")?;
        for name in &self.databases {
            sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await?;
            self.created.push(name.clone());
        }
        admin.close().await.ok();
        let catalogue = self.dir.join("catalogue.csv");
        let csv: String = (1..=cli.skus)
            .map(|i| format!("BENCH-SKU-{i:04},Bench item {i},1000000\n"))
            .collect();
        std::fs::write(&catalogue, format!("sku,name,quantity\n{csv}"))?;
        let catalogue = catalogue.to_string_lossy().into_owned();
        let port = || -> anyhow::Result<u16> {
            Ok(std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port())
        };

        let key = self.dir.join("key.pem").to_string_lossy().into_owned();
        let central_env = [("DATABASE_URL", self.db_urls[0].clone())];
        self.task("central-app", &["keys", "generate", "--out", &key], &[])
            .await?;
        self.task("central-app", &["migrate"], &central_env).await?;
        self.task(
            "central-app",
            &[
                "populate",
                "--stores",
                &STORES.join(","),
                "--catalogue",
                &catalogue,
            ],
            &central_env,
        )
        .await?;
        let secret = Uuid::new_v4().to_string();
        self.task(
            "central-app",
            &[
                "clients",
                "create",
                "--id",
                "bench-worker",
                "--role",
                "sync-worker",
                "--secret",
                &secret,
            ],
            &central_env,
        )
        .await?;
        let bind = format!("127.0.0.1:{}", port()?);
        self.central_url = format!("http://{bind}");
        let env = [
            central_env[0].clone(),
            ("BIND_ADDR", bind),
            ("JWT_PRIVATE_KEY_FILE", key),
            ("AMQP_URL", self.amqp_url.clone()),
            ("AMQP_EXCHANGE", self.exchange.clone()),
        ];
        let central = self.spawn("central", self.command("central-app", &["serve"], &env))?;
        self.services.push(central);
        self.wait_ready(&format!("{}/health/ready", self.central_url), |_| true)
            .await?;

        for (n, store) in STORES.iter().enumerate() {
            let bind = format!("127.0.0.1:{}", port()?);
            self.store_urls.push(format!("http://{bind}"));
            let env = [
                ("STORE_ID", (*store).to_owned()),
                ("DATABASE_URL", self.db_urls[n + 1].clone()),
                ("CENTRAL_URL", self.central_url.clone()),
                ("AMQP_URL", self.amqp_url.clone()),
                ("AMQP_EXCHANGE", self.exchange.clone()),
                ("BIND_ADDR", bind),
            ];
            self.task("store-app", &["migrate"], &env).await?;
            self.task("store-app", &["populate", "--catalogue", &catalogue], &env)
                .await?;
            let child = self.spawn(
                &format!("store{}", n + 1),
                self.command("store-app", &["serve"], &env),
            )?;
            self.services.push(child);
        }
        for url in self.store_urls.clone() {
            self.wait_ready(&format!("{url}/health/ready"), |body| {
                body["checks"]["broker"]["ok"] == true
            })
            .await?;
        }
        let metrics = format!("127.0.0.1:{}", port()?);
        self.worker_url = format!("http://{metrics}");
        let stores: Vec<String> = STORES
            .iter()
            .zip(&self.store_urls)
            .map(|(s, u)| format!("{s}={u}"))
            .collect();
        self.worker_env = vec![
            ("AMQP_URL", self.amqp_url.clone()),
            ("AMQP_EXCHANGE", self.exchange.clone()),
            ("CENTRAL_URL", self.central_url.clone()),
            ("CLIENT_ID", "bench-worker".into()),
            ("CLIENT_SECRET", secret),
            ("STORES", stores.join(",")),
            ("SYNC_INTERVAL", "1h".into()),
            ("BATCH_SIZE", cli.batch_size.to_string()),
            ("RETRY_BASE_DELAY", "1s".into()),
            ("RETRY_MAX_DELAY", "30s".into()),
            ("METRICS_ADDR", metrics),
        ];
        self.spawn_worker()?;
        let ready = format!("{}/health/ready", self.worker_url);
        self.wait_ready(&ready, |_| true).await?;
        let give_up = Instant::now() + Duration::from_secs(60);
        while metric(
            &self.scrape(&self.worker_url).await,
            "sync_runs_total",
            "outcome=\"ok\"",
        ) < 2.0
        {
            anyhow::ensure!(
                Instant::now() < give_up,
                "the worker's first syncs did not happen within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!(
            "[setup] central {}, stores {:?}, worker metrics {}",
            self.central_url, self.store_urls, self.worker_url
        );
        Ok(())
    }

    fn spawn_worker(&mut self) -> anyhow::Result<()> {
        let command = self.command("sync-worker", &["serve"], &self.worker_env);
        self.worker = Some(self.spawn("worker", command)?);
        Ok(())
    }

    /// SIGTERM, then SIGKILL after 15 s; how long it took to exit.
    async fn stop_worker(&mut self) -> anyhow::Result<Duration> {
        let mut worker = self.worker.take().context("no worker running")?;
        let sent = Instant::now();
        if let Some(pid) = worker.id() {
            Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await?;
        }
        if tokio::time::timeout(Duration::from_secs(15), worker.wait())
            .await
            .is_err()
        {
            worker.start_kill().ok();
            worker.wait().await.ok();
            eprintln!("[drain] the worker ignored SIGTERM for 15 s and was killed");
        }
        Ok(sent.elapsed())
    }

    async fn scrape(&self, base: &str) -> String {
        match self.http.get(format!("{base}/metrics")).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    async fn count(pool: &PgPool, sql: &str) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(sql).fetch_one(pool).await?)
    }

    /// Statistics for the planner at the start of a phase (unless
    /// `--no-analyze`), as autovacuum keeps them on a system in service.
    async fn analyze(&self, cli: &Cli) -> anyhow::Result<()> {
        if !cli.no_analyze {
            for pool in std::iter::once(&self.central_db).chain(&self.store_dbs) {
                sqlx::raw_sql("ANALYZE").execute(pool).await?;
            }
        }
        Ok(())
    }

    async fn pending(&self) -> anyhow::Result<i64> {
        let mut total = 0;
        for pool in &self.store_dbs {
            total += Self::count(
                pool,
                "SELECT count(*) FROM changes WHERE status = 'pending'",
            )
            .await?;
        }
        Ok(total)
    }

    /// Messages waiting in the stores' nudge queues.
    async fn queue_depths(&self) -> anyhow::Result<Vec<u32>> {
        let conn = lapin::Connection::connect(&self.amqp_url, Default::default()).await?;
        let channel = conn.create_channel().await?;
        let mut depths = Vec::new();
        for store in STORES {
            let options = lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            let name = format!("{}.store.{store}", self.exchange);
            depths.push(
                channel
                    .queue_declare(name.as_str().into(), options, Default::default())
                    .await?
                    .message_count(),
            );
        }
        conn.close(200, "bench".into()).await.ok();
        Ok(depths)
    }

    /// A snapshot of everything a phase's breakdown is computed from.
    async fn observe(&self) -> Observation {
        let mut routes = Vec::new();
        for (name, url) in [
            ("central", &self.central_url),
            ("store1", &self.store_urls[0]),
            ("store2", &self.store_urls[1]),
        ] {
            routes.push((name, route_times(&self.scrape(url).await)));
        }
        let log_offset = std::fs::metadata(self.dir.join("worker.log")).map_or(0, |m| m.len());
        let mut labels = HashMap::new();
        let named = [
            "stack central-app",
            "stack store-app 1",
            "stack store-app 2",
        ]
        .into_iter()
        .zip(&self.services);
        let worker = self.worker.iter().map(|w| ("stack sync-worker", w));
        for (label, child) in named.chain(worker) {
            labels.extend(child.id().map(|pid| (pid, label)));
        }
        labels.insert(std::process::id(), "stack load generator");
        let cpu = all_cpu(&labels);
        Observation {
            routes,
            log_offset,
            cpu,
            machine: machine_cpu(),
            at: Instant::now(),
        }
    }

    async fn teardown(&mut self, keep_logs: bool) {
        if let Some(mut worker) = self.worker.take() {
            worker.start_kill().ok();
            worker.wait().await.ok();
        }
        for mut child in self.services.drain(..) {
            child.start_kill().ok();
            child.wait().await.ok();
        }
        self.central_db.close().await;
        for pool in &self.store_dbs {
            pool.close().await;
        }
        match drop_databases(&self.admin_url, &self.created).await {
            Ok(()) => eprintln!("[teardown] databases {:?} dropped", self.created),
            Err(error) => eprintln!("[teardown] could not drop {:?}: {error:#}", self.created),
        }
        let x = &self.exchange;
        let mut queues: Vec<String> = STORES.iter().map(|s| format!("{x}.store.{s}")).collect();
        queues.push(format!("{x}.dead-letter"));
        queues.extend([1, 2, 4, 8, 16, 30].map(|s| format!("{x}.retry.{}ms", s * 1000)));
        let exchanges = [x.clone(), format!("{x}.dead-letter"), format!("{x}.retry")];
        let delete = async {
            let conn = lapin::Connection::connect(&self.amqp_url, Default::default()).await?;
            let channel = conn.create_channel().await?;
            for queue in &queues {
                channel
                    .queue_delete(queue.as_str().into(), Default::default())
                    .await?;
            }
            for exchange in &exchanges {
                channel
                    .exchange_delete(exchange.as_str().into(), Default::default())
                    .await?;
            }
            conn.close(200, "bench done".into()).await.ok();
            anyhow::Ok(())
        };
        if let Ok(Err(error)) | Err(error) = tokio::time::timeout(Duration::from_secs(10), delete)
            .await
            .map_err(anyhow::Error::from)
        {
            eprintln!("[teardown] broker names under {x} not all deleted: {error:#}");
        }
        if keep_logs {
            eprintln!("[teardown] logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Per-route `http_request_duration_seconds` (sum, count) of one process.
type Routes = BTreeMap<String, (f64, f64)>;

struct Observation {
    routes: Vec<(&'static str, Routes)>,
    log_offset: u64,
    /// CPU seconds of every process: pid → (label, seconds).
    cpu: HashMap<u32, (String, f64)>,
    machine: (f64, f64),
    at: Instant,
}

/// CPU seconds of every process now, labelled by `labels` or else by
/// command name (`postgres`, `beam.smp` for RabbitMQ, ...).
fn all_cpu(labels: &HashMap<u32, &str>) -> HashMap<u32, (String, f64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    let read = |pid: u32| -> Option<(String, f64)> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (head, tail) = stat.rsplit_once(')')?;
        let comm = head.split_once('(')?.1;
        let fields: Vec<&str> = tail.split_whitespace().collect();
        let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        let label = labels.get(&pid).map_or(comm, |l| l);
        Some((label.to_owned(), ticks / 100.0))
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, read(pid)?)))
        .collect()
}

/// (busy, total) CPU ticks of the machine.
fn machine_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let total: f64 = ticks.iter().take(8).sum();
    (
        total - ticks.get(3).unwrap_or(&0.0) - ticks.get(4).unwrap_or(&0.0),
        total,
    )
}

fn route_times(text: &str) -> Routes {
    let mut routes = Routes::new();
    for line in text.lines() {
        let (is_sum, rest) = match (
            line.strip_prefix("http_request_duration_seconds_sum{"),
            line.strip_prefix("http_request_duration_seconds_count{"),
        ) {
            (Some(rest), _) => (true, rest),
            (_, Some(rest)) => (false, rest),
            _ => continue,
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let label = |key: &str| {
            labels
                .split(',')
                .find_map(|l| l.strip_prefix(&format!("{key}=\"")))
                .map(|v| v.trim_end_matches('"').to_owned())
        };
        let (Some(method), Some(route), Ok(value)) =
            (label("method"), label("route"), value.trim().parse::<f64>())
        else {
            continue;
        };
        let entry = routes.entry(format!("{method} {route}")).or_default();
        if is_sum {
            entry.0 += value
        } else {
            entry.1 += value
        }
    }
    routes
}

fn metric(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// The worker's `sync done` lines between two offsets of its log.
#[derive(Default)]
struct Syncs {
    durations: Vec<Duration>,
    pushed: u64,
    batches: u64,
    pulled: u64,
}

fn syncs(stack: &Stack, from: u64, to: u64) -> Syncs {
    let text = std::fs::read(stack.dir.join("worker.log")).unwrap_or_default();
    let to = (to as usize).min(text.len());
    let mut out = Syncs::default();
    for line in String::from_utf8_lossy(&text[(from as usize).min(to)..to]).lines() {
        match serde_json::from_str::<Value>(line) {
            Ok(entry) if entry["message"] == "sync done" => {
                let field = |name: &str| entry[name].as_u64().unwrap_or(0);
                out.durations
                    .push(Duration::from_millis(field("duration_ms")));
                out.pushed += field("pushed");
                out.batches += field("batches");
                out.pulled += field("pulled");
            }
            _ => {}
        }
    }
    out
}

/// What happened between two observations: request time per route, and
/// the worker's `sync done` lines.
fn breakdown(stack: &Stack, before: &Observation, after: &Observation) {
    let wall = (after.at - before.at).as_secs_f64();
    let mut by_label: BTreeMap<&str, f64> = BTreeMap::new();
    for (pid, (label, cpu)) in &after.cpu {
        let earlier = before.cpu.get(pid).map_or(0.0, |(_, c)| *c);
        *by_label.entry(label).or_default() += cpu - earlier;
    }
    let busy_core_s = (after.machine.0 - before.machine.0) / 100.0;
    let listed: f64 = by_label.values().sum();
    let mut shares: Vec<(&str, f64)> = by_label
        .into_iter()
        .filter(|(_, c)| *c >= 0.01 * wall)
        .collect();
    shares.sort_by(|a, b| b.1.total_cmp(&a.1));
    let shares: Vec<String> = shares
        .iter()
        .map(|(l, c)| format!("{l} {:.0} %", 100.0 * c / wall))
        .collect();
    println!(
        "CPU over {wall:.1} s, in % of one core (`stack` = this benchmark's processes, others by command name): {}; \
         processes that exited meanwhile {:.0} %; machine busy {:.0} % of one core (2 cores = 200 %).\n",
        shares.join(", "),
        100.0 * (busy_core_s - listed).max(0.0) / wall,
        100.0 * busy_core_s / wall
    );
    println!("| process | route | requests | mean | total |");
    println!("|---|---|---|---|---|");
    for ((name, b), (_, a)) in before.routes.iter().zip(&after.routes) {
        for (route, (sum, count)) in a {
            let (sum0, count0) = b.get(route).copied().unwrap_or_default();
            let (sum, count) = (sum - sum0, count - count0);
            if count >= 1.0 && !route.contains("/health") && !route.contains("/metrics") {
                println!(
                    "| {name} | `{route}` | {count:.0} | {:.2} ms | {sum:.1} s |",
                    sum * 1000.0 / count
                );
            }
        }
    }
    let Syncs {
        mut durations,
        pushed,
        batches,
        pulled,
    } = syncs(stack, before.log_offset, after.log_offset);
    durations.sort_unstable();
    let n = durations.len().max(1) as f64;
    println!(
        "\nWorker `sync done` lines: {} syncs, {batches} batches, {pushed} changes pushed ({:.1} per sync), {pulled} pulled; \
              sync duration p50 {}, p99 {}, max {}, total {:.1} s.\n",
        durations.len(),
        pushed as f64 / n,
        ms(percentile(&durations, 0.5)),
        ms(percentile(&durations, 0.99)),
        ms(durations.last().copied().unwrap_or_default()),
        durations.iter().sum::<Duration>().as_secs_f64()
    );
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// One store update; `Ok(accepted at, in µs since the epoch)`.
async fn update(
    http: &reqwest::Client,
    url: &str,
    sku: usize,
    delta: i64,
    operation_id: Uuid,
) -> anyhow::Result<i64> {
    let response = http
        .post(format!(
            "{url}/v1/local/inventory/BENCH-SKU-{:04}/update",
            sku + 1
        ))
        .json(&json!({"delta": delta, "operation_id": operation_id, "reason": "bench"}))
        .send()
        .await?;
    let accepted = now_us();
    let status = response.status();
    if status != reqwest::StatusCode::CREATED {
        bail!("{status} {}", response.text().await.unwrap_or_default());
    }
    Ok(accepted)
}

async fn latency_phase(cli: &Cli, stack: &Stack, rate: u32) -> anyhow::Result<()> {
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
        let (http, url) = (stack.http.clone(), stack.store_urls[i as usize % 2].clone());
        let (sku, delta) = (rng.below(cli.skus), if rng.below(2) == 0 { 1 } else { -1 });
        tasks.spawn(async move {
            let operation_id = Uuid::now_v7();
            let sent = Instant::now();
            let result = update(&http, &url, sku, delta, operation_id).await;
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

async fn drain_phase(cli: &Cli, stack: &mut Stack) -> anyhow::Result<()> {
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
        let (next, http, urls, skus, n) = (
            next.clone(),
            stack.http.clone(),
            stack.store_urls.clone(),
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
                    update(&http, &urls[i % 2], rng.below(skus), delta, Uuid::now_v7())
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

async fn measure(cli: &Cli, stack: &mut Stack) -> anyhow::Result<()> {
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&stack.central_db)
        .await?;
    println!("# sync_bench results\n");
    println!(
        "- PostgreSQL {version}; stack: central, {} and 1 worker (BATCH_SIZE {}), {} SKUs per store, RUST_LOG info",
        STORES.join(", "),
        cli.batch_size,
        cli.skus
    );
    println!(
        "- {}",
        if cli.no_analyze {
            "no ANALYZE before the phases (--no-analyze): tables without statistics"
        } else {
            "ANALYZE of the three databases before each phase"
        }
    );
    println!("- load average at start: {}\n", load_average());
    if !cli.rates.is_empty() {
        println!(
            "## Propagation latency (201 at the client → `recorded_at` of the `ChangeApplied` at central)\n"
        );
    }
    for &rate in &cli.rates {
        anyhow::ensure!(rate > 0, "rates must be positive");
        latency_phase(cli, stack, rate).await?;
    }
    if cli.drain > 0 {
        drain_phase(cli, stack).await?;
    }
    Ok(())
}
