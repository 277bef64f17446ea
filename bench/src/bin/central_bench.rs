//! `central_bench`: how many store changes `central-app` applies per second
//! through `POST /v1/sync/batch` at batch sizes 1, 100 and 500, from one
//! connection (batches one after another, as one worker pushes one store)
//! and from several connections (each on stores of its own), next to what
//! PostgreSQL itself does for the same writes (a pgbench script with one
//! batch's statements, in the same run, on the same database).
//!
//! It creates a throw-away database `bench_<uuid>`, runs the release
//! `central-app` binary (`keys generate`, `migrate`, `populate --stores`
//! with a generated catalogue, `clients create`, `serve` on a free port with
//! a private `AMQP_EXCHANGE`), measures, and always stops the server and
//! drops the database at the end, also on error or Ctrl-C.
//!
//! Every change is unconditional (+1 or -1, stock 1,000,000) with a fresh
//! UUIDv7; change `i` of a batch goes to SKU `(offset + i) mod --skus` of
//! the batch's store, so a 500-change batch over 250 SKUs touches 250
//! streams, two changes each. The pgbench script does exactly that too.
//! Every measurement (central's and pgbench's) starts after `VACUUM
//! ANALYZE` and `CHECKPOINT`, so both start from the same state and the
//! planner has statistics; `--no-vacuum` leaves the tables as a freshly
//! migrated database has them (no statistics until autovacuum runs).
//! Besides changes/s and batch latency it reports the CPU each 1,000
//! changes cost in central-app, in the database's PostgreSQL backends and
//! in this load generator (which runs on the same machine).
//!
//! ```sh
//! cargo build --release --bins
//! target/release/central_bench [--duration 10] [--sizes 1,100,500] [--connections 1,4]
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bench::stats::{Rng, fmt_ms as ms, load_average, percentile};
use bench::{StackArgs, drop_databases};
use clap::Parser;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use tokio::process::{Child, Command};
use uuid::Uuid;

/// Benchmarks central's batch sync API against PostgreSQL's own rate.
#[derive(Debug, Parser)]
#[command(name = "central_bench", version)]
struct Cli {
    #[command(flatten)]
    stack: StackArgs,
    /// Batch sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,100,500")]
    sizes: Vec<usize>,
    /// Concurrent connections to measure (each pushes to stores of its own).
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    connections: Vec<usize>,
    /// Measured seconds per (size, connections), for central and pgbench.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Unmeasured seconds before each central measurement.
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// Stores registered at central.
    #[arg(long, default_value_t = 20)]
    stores: usize,
    /// SKUs per store (generated catalogue `BENCH-SKU-0001`...).
    #[arg(long, default_value_t = 250)]
    skus: usize,
    /// pgbench binary (default: PostgreSQL 15's, else `pgbench` on PATH).
    #[arg(long)]
    pgbench: Option<PathBuf>,
    /// Leave out the pgbench part.
    #[arg(long)]
    skip_pgbench: bool,
    /// Do not `VACUUM ANALYZE` and `CHECKPOINT` before each measurement
    /// (central's and pgbench's): the tables then have no statistics until
    /// autovacuum gets to them, as in a freshly migrated database.
    #[arg(long)]
    no_vacuum: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("central-bench: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("central-bench failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    anyhow::ensure!(
        cli.stores > 0 && cli.skus > 0,
        "--stores and --skus must be positive"
    );
    anyhow::ensure!(
        cli.connections.iter().all(|&c| c > 0 && c <= cli.stores),
        "--connections must be between 1 and --stores"
    );
    let mut env = Env::new(&cli)?;
    let outcome = tokio::select! {
        result = async { let token = env.start(&cli).await?; measure(&cli, &env, &token).await } => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if outcome.is_err() {
        env.print_log_tail(30);
    }
    env.teardown().await;
    outcome
}

/// The throw-away database, key, server and temporary directory.
struct Env {
    admin_url: String,
    db_name: String,
    db_url: String,
    amqp_url: String,
    exchange: String,
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    db_created: bool,
    server: Option<Child>,
}

impl Env {
    fn new(cli: &Cli) -> anyhow::Result<Self> {
        let bin = cli.stack.bin_dir.join("central-app");
        if !bin.is_file() {
            bail!(
                "{} not found: run cargo build --release --bins (or pass --bin-dir)",
                bin.display()
            );
        }
        let id = Uuid::new_v4().simple().to_string();
        let db_name = format!("bench_{id}");
        let mut url = reqwest::Url::parse(&cli.stack.database_url).context("BENCH_DATABASE_URL")?;
        url.set_path(&format!("/{db_name}"));
        Ok(Self {
            admin_url: cli.stack.database_url.clone(),
            db_url: url.to_string(),
            db_name,
            amqp_url: cli.stack.amqp_url.clone(),
            exchange: format!("bench-{id}"),
            bin,
            dir: std::env::temp_dir().join(format!("central-bench-{id}")),
            port: 0,
            db_created: false,
            server: None,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .env("DATABASE_URL", &self.db_url)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info,sqlx=warn,lapin=warn")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    async fn task(&self, args: &[&str]) -> anyhow::Result<()> {
        let output = tokio::time::timeout(Duration::from_secs(300), self.command(args).output())
            .await
            .with_context(|| format!("central-app {} timed out", args.join(" ")))??;
        if !output.status.success() {
            bail!(
                "central-app {} failed ({}): {}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// Database, key, catalogue, client, server; returns a sync-worker token.
    async fn start(&mut self, cli: &Cli) -> anyhow::Result<String> {
        std::fs::create_dir_all(&self.dir)?;
        let mut admin = PgConnection::connect(&self.admin_url)
            .await
            .context("BENCH_DATABASE_URL")?;
        sqlx::raw_sql(&format!("CREATE DATABASE {}", self.db_name))
            .execute(&mut admin)
            .await?;
        self.db_created = true;
        admin.close().await.ok();
        let key = self.dir.join("key.pem").to_string_lossy().into_owned();
        self.task(&["keys", "generate", "--out", &key]).await?;
        self.task(&["migrate"]).await?;
        let catalogue = self.dir.join("catalogue.csv");
        let mut csv = String::from("sku,name,quantity\n");
        for i in 0..cli.skus {
            csv.push_str(&format!("{},Bench item {},1000000\n", sku(i), i + 1));
        }
        std::fs::write(&catalogue, csv)?;
        let stores: Vec<String> = (0..cli.stores).map(store).collect();
        let catalogue = catalogue.to_string_lossy().into_owned();
        self.task(&[
            "populate",
            "--stores",
            &stores.join(","),
            "--catalogue",
            &catalogue,
        ])
        .await?;
        let secret = Uuid::new_v4().to_string();
        self.task(&[
            "clients",
            "create",
            "--id",
            "bench-worker",
            "--role",
            "sync-worker",
            "--secret",
            &secret,
        ])
        .await?;
        eprintln!(
            "[setup] {} migrated, {} stores × {} SKUs",
            self.db_name, cli.stores, cli.skus
        );

        self.port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = std::fs::File::create(self.dir.join("central.log"))?;
        let mut command = self.command(&["serve"]);
        command
            .env("BIND_ADDR", format!("127.0.0.1:{}", self.port))
            .env("JWT_PRIVATE_KEY_FILE", &key)
            .env("TOKEN_TTL", "2h")
            .env("AMQP_URL", &self.amqp_url)
            .env("AMQP_EXCHANGE", &self.exchange)
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        self.server = Some(command.spawn().context("starting central-app serve")?);
        let http = reqwest::Client::new();
        let give_up = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(server) = self.server.as_mut()
                && let Some(status) = server.try_wait()?
            {
                bail!("central-app serve exited during start-up ({status})");
            }
            if let Ok(r) = http.get(self.url("/health/ready")).send().await
                && r.status().is_success()
            {
                break;
            }
            anyhow::ensure!(
                Instant::now() < give_up,
                "central-app not ready within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let answer: Value = http
            .post(self.url("/auth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "bench-worker"),
                ("client_secret", &secret),
            ])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = answer["access_token"]
            .as_str()
            .context("no access_token")?
            .to_owned();
        eprintln!("[setup] central-app serving on {}", self.url(""));
        Ok(token)
    }

    fn print_log_tail(&self, lines: usize) {
        let text = std::fs::read_to_string(self.dir.join("central.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        for line in &all[all.len().saturating_sub(lines)..] {
            eprintln!("{line}");
        }
    }

    /// Kills the server, drops the database, deletes the exchange and the
    /// directory; reports problems but never fails.
    async fn teardown(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.start_kill().ok();
            let _ = tokio::time::timeout(Duration::from_secs(10), server.wait()).await;
        }
        if self.db_created {
            match drop_databases(&self.admin_url, std::slice::from_ref(&self.db_name)).await {
                Ok(()) => eprintln!("[teardown] database {} dropped", self.db_name),
                Err(error) => eprintln!("[teardown] could not drop {}: {error:#}", self.db_name),
            }
        }
        let delete = async {
            let conn = lapin::Connection::connect(&self.amqp_url, Default::default()).await?;
            let channel = conn.create_channel().await?;
            channel
                .exchange_delete(self.exchange.as_str().into(), Default::default())
                .await?;
            conn.close(200, "bench done".into()).await.ok();
            anyhow::Ok(())
        };
        if let Ok(Err(error)) = tokio::time::timeout(Duration::from_secs(10), delete).await {
            eprintln!("[teardown] exchange {} not deleted: {error}", self.exchange);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn store(index: usize) -> String {
    format!("STORE-{:03}", index + 1)
}

fn sku(index: usize) -> String {
    format!("BENCH-SKU-{:04}", index + 1)
}

/// What one (size, connections) measurement of central saw.
#[derive(Default)]
struct Pushed {
    applied: u64,
    other: u64,
    latencies: Vec<Duration>,
    elapsed: Duration,
    /// CPU seconds of central-app, of the database's PostgreSQL backends
    /// and of this load generator; share of the machine's CPU busy.
    cpu: [f64; 3],
    machine_busy: f64,
}

/// CPU counters at one moment.
struct Cpu {
    central: f64,
    backends: HashMap<u32, f64>,
    own: f64,
    machine: (f64, f64),
}

impl Cpu {
    async fn take(env: &Env, monitor: &mut PgConnection) -> anyhow::Result<Self> {
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&env.db_name)
        .fetch_all(monitor)
        .await?;
        let pid = env.server.as_ref().and_then(Child::id);
        Ok(Self {
            central: pid.and_then(process_cpu).unwrap_or(0.0),
            backends: pids
                .into_iter()
                .filter_map(|p| Some((p as u32, process_cpu(p as u32)?)))
                .collect(),
            own: process_cpu(std::process::id()).unwrap_or(0.0),
            machine: machine_cpu().unwrap_or((0.0, 1.0)),
        })
    }

    /// [central, postgres, load generator] seconds and the busy share.
    fn since(&self, before: &Self) -> ([f64; 3], f64) {
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

/// `connections` tasks push `size`-change batches until `duration` is up;
/// task `c` rotates over the stores `s` with `s % connections == c`.
async fn push_for(
    env: &Env,
    cli: &Cli,
    token: &str,
    (size, connections): (usize, usize),
    duration: Duration,
    monitor: &mut PgConnection,
) -> anyhow::Result<Pushed> {
    let deadline = Instant::now() + duration;
    let cpu_before = Cpu::take(env, monitor).await?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..connections {
        let (url, token, skus) = (env.url("/v1/sync/batch"), token.to_owned(), cli.skus);
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
            let mut out = Pushed::default();
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
                out.latencies.push(sent.elapsed());
                anyhow::ensure!(status.is_success(), "central answered {status}: {answer}");
                for result in answer["results"].as_array().context("no results")? {
                    if result["outcome"] == "applied" && result["replayed"] != true {
                        out.applied += 1;
                    } else {
                        out.other += 1;
                    }
                }
            }
            anyhow::Ok(out)
        });
    }
    let mut total = Pushed::default();
    while let Some(joined) = tasks.join_next().await {
        let part = joined??;
        total.applied += part.applied;
        total.other += part.other;
        total.latencies.extend(part.latencies);
    }
    total.elapsed = started.elapsed();
    (total.cpu, total.machine_busy) = Cpu::take(env, monitor).await?.since(&cpu_before);
    total.latencies.sort_unstable();
    Ok(total)
}

/// One pgbench run.
struct PgRun {
    tps: f64,
    transactions: u64,
    failed: u64,
    latency_avg_ms: f64,
    statements: Vec<f64>,
    latencies: Vec<Duration>,
}

/// One batch of `:n` changes as central writes it: lock the streams, look
/// the operation ids up, then one statement for events, operations,
/// central_stock and snapshots (as `projections/write.rs` does), commit.
fn pgbench_script() -> String {
    let store = "('STORE-' || lpad(:s::text, 3, '0'))";
    let sku = "('BENCH-SKU-' || lpad(((:o::int + g - 1) % :k::int + 1)::text, 4, '0'))";
    let stream = format!("({store} || '/' || {sku})");
    let uuid7 = "(lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 19))::uuid";
    let series = "generate_series(1, :n::int) g";
    let join = "FROM agg JOIN cur USING (aggregate_id)";
    [
        "\\set s 1 + :client_id + :clients * random(0, :nstores / :clients - 1)".to_owned(),
        "\\set o random(0, :k - 1)".to_owned(),
        "BEGIN;".to_owned(),
        format!("SELECT s.aggregate_id, s.last_sequence, s.payload, (SELECT jsonb_agg(e.payload ORDER BY e.sequence) FROM events e WHERE e.aggregate_type = s.aggregate_type AND e.aggregate_id = s.aggregate_id AND e.sequence > s.last_sequence) AS later_events FROM snapshots s WHERE s.aggregate_type = 'CentralStock' AND s.aggregate_id = ANY(ARRAY(SELECT {stream} FROM {series})) ORDER BY s.aggregate_id FOR UPDATE OF s;"),
        format!("SELECT o.operation_id, o.sku, o.delta, o.expected_version, o.outcome, o.version, o.quantity FROM unnest(ARRAY(SELECT {uuid7} FROM {series})) AS wanted(operation_id) JOIN operations o ON o.store_id = {store} AND o.operation_id = wanted.operation_id;"),
        format!("WITH c AS MATERIALIZED (SELECT x.*, row_number() OVER w AS k, sum(x.delta) OVER w AS run FROM (SELECT g, {stream} AS aggregate_id, {sku} AS sku, CASE WHEN g % 2 = 0 THEN 1 ELSE -1 END AS delta, {uuid7} AS op FROM {series}) x WINDOW w AS (PARTITION BY x.aggregate_id ORDER BY x.g)), \
         cur AS MATERIALIZED (SELECT s.aggregate_id, s.last_sequence, s.payload, (s.payload ->> 'quantity')::bigint AS quantity, (s.payload ->> 'version')::bigint AS version FROM snapshots s WHERE s.aggregate_type = 'CentralStock' AND s.aggregate_id IN (SELECT aggregate_id FROM c)), \
         ev AS (INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, store_id, sku) SELECT 'CentralStock', c.aggregate_id, cur.last_sequence + c.k, 'ChangeApplied', '1.0', jsonb_build_object('ChangeApplied', jsonb_build_object('operation_id', c.op, 'delta', c.delta, 'expected_version', NULL, 'origin', 'store', 'occurred_at', now(), 'version', cur.version + c.k, 'quantity', cur.quantity + c.run)), '{{}}', {store}, c.sku FROM c JOIN cur USING (aggregate_id) RETURNING 1), \
         ops AS (INSERT INTO operations (store_id, operation_id, sku, delta, expected_version, outcome, version, quantity) SELECT {store}, c.op, c.sku, c.delta, NULL, 'applied', cur.version + c.k, cur.quantity + c.run FROM c JOIN cur USING (aggregate_id) RETURNING 1), \
         agg AS (SELECT aggregate_id, min(sku) AS sku, count(*) AS n, sum(delta) AS total FROM c GROUP BY aggregate_id), \
         stock AS (INSERT INTO central_stock (store_id, sku, name, quantity, version) SELECT {store}, agg.sku, cur.payload ->> 'name', cur.quantity + agg.total, cur.version + agg.n {join} ON CONFLICT (store_id, sku) DO UPDATE SET name = EXCLUDED.name, quantity = EXCLUDED.quantity, version = EXCLUDED.version RETURNING 1), \
         snaps AS (INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload) SELECT 'CentralStock', agg.aggregate_id, cur.last_sequence + agg.n, cur.last_sequence + agg.n, cur.payload || jsonb_build_object('quantity', cur.quantity + agg.total, 'version', cur.version + agg.n) {join} ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET last_sequence = EXCLUDED.last_sequence, current_snapshot = EXCLUDED.current_snapshot, payload = EXCLUDED.payload RETURNING 1) \
         SELECT (SELECT count(*) FROM ev) AS events, (SELECT count(*) FROM ops) AS operations;"),
        "COMMIT;".to_owned(),
    ]
    .join("\n") + "\n"
}

const STATEMENTS: [&str; 7] = [
    "\\set s",
    "\\set o",
    "BEGIN",
    "lock + load snapshots",
    "operations lookup",
    "write (events, operations, stock, snapshots)",
    "COMMIT",
];

async fn pgbench(
    path: &Path,
    env: &Env,
    cli: &Cli,
    size: usize,
    clients: usize,
) -> anyhow::Result<PgRun> {
    let script = env.dir.join("batch.sql");
    std::fs::write(&script, pgbench_script())?;
    let prefix = format!("pg_{size}_{clients}");
    let mut command = Command::new(path);
    command
        .current_dir(&env.dir)
        .args([
            "-n",
            "-M",
            "prepared",
            "-r",
            "-l",
            &format!("--log-prefix={prefix}"),
        ])
        .args([
            "-c",
            &clients.to_string(),
            "-j",
            &clients.min(2).to_string(),
            "-T",
            &cli.duration.to_string(),
        ])
        .args(["-D", &format!("n={size}"), "-D", &format!("k={}", cli.skus)])
        .args([
            "-D",
            &format!("nstores={}", cli.stores),
            "-D",
            &format!("clients={clients}"),
        ])
        .arg("-f")
        .arg(&script)
        .arg(&env.db_url)
        .kill_on_drop(true);
    let output =
        tokio::time::timeout(Duration::from_secs(cli.duration + 120), command.output()).await??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let number = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|r| r.split_whitespace().next()?.parse::<f64>().ok())
    };
    let (Some(tps), Some(transactions), Some(latency_avg_ms)) = (
        number("tps = "),
        number("number of transactions actually processed: "),
        number("latency average = "),
    ) else {
        bail!(
            "pgbench failed ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let statements = stdout
        .lines()
        .skip_while(|l| !l.starts_with("statement latencies"))
        .skip(1)
        .map_while(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(&env.dir)? {
        let path = entry?.path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&format!("{prefix}.")))
        {
            for line in std::fs::read_to_string(&path)?.lines() {
                if let Some(us) = line
                    .split_whitespace()
                    .nth(2)
                    .and_then(|us| us.parse().ok())
                {
                    latencies.push(Duration::from_micros(us));
                }
            }
            std::fs::remove_file(&path)?;
        }
    }
    latencies.sort_unstable();
    Ok(PgRun {
        tps,
        transactions: transactions as u64,
        failed: number("number of failed transactions: ").unwrap_or(0.0) as u64,
        latency_avg_ms,
        statements,
        latencies,
    })
}

async fn measure(cli: &Cli, env: &Env, token: &str) -> anyhow::Result<()> {
    let pgbench_path = if cli.skip_pgbench {
        None
    } else {
        Some(locate_pgbench(cli).await?)
    };
    let mut conn = PgConnection::connect(&env.db_url).await?;
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut conn)
        .await?;
    println!("# central-bench results\n");
    println!(
        "- PostgreSQL {version}; central-app at {} (DATABASE_MAX_CONNECTIONS 10, RUST_LOG info)",
        env.url("")
    );
    println!(
        "- {} stores × {} SKUs; {} s per measurement after a {} s warm-up; {}",
        cli.stores,
        cli.skus,
        cli.duration,
        cli.warmup,
        if cli.no_vacuum {
            "no VACUUM between measurements (--no-vacuum)"
        } else {
            "VACUUM ANALYZE + CHECKPOINT before each measurement"
        }
    );
    println!("- load average at start: {}\n", load_average());
    let mut central_rows = Vec::new();
    let mut pg_rows = Vec::new();
    for &size in &cli.sizes {
        anyhow::ensure!((1..=1000).contains(&size), "batch sizes are 1..=1000");
        for &connections in &cli.connections {
            eprintln!("[central] batch {size}, {connections} connection(s)");
            let level = (size, connections);
            vacuum(cli, &mut conn).await?;
            let warmup = Duration::from_secs(cli.warmup);
            push_for(env, cli, token, level, warmup, &mut conn).await?;
            let duration = Duration::from_secs(cli.duration);
            let pushed = push_for(env, cli, token, level, duration, &mut conn).await?;
            let rate = pushed.applied as f64 / pushed.elapsed.as_secs_f64();
            eprintln!("[central]   {rate:.0} changes/s; load {}", load_average());
            central_rows.push((size, connections, rate, pushed));
        }
        if let Some(path) = &pgbench_path {
            for &clients in &cli.connections {
                eprintln!("[pgbench] batch {size}, {clients} client(s)");
                vacuum(cli, &mut conn).await?;
                let run = pgbench(path, env, cli, size, clients).await?;
                eprintln!("[pgbench]   {:.0} changes/s", run.tps * size as f64);
                pg_rows.push((size, clients, run));
            }
        }
    }
    println!("## Central: `POST /v1/sync/batch`\n");
    println!(
        "| batch size | connections | batches | changes/s | batch p50 | batch p99 | max | not applied | CPU per 1,000 changes: central-app / PostgreSQL / load generator | machine CPU busy |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (size, connections, rate, p) in &central_rows {
        println!(
            "| {size} | {connections} | {} | {rate:.0} | {} | {} | {} | {} | {} ms | {:.0} % |",
            p.latencies.len(),
            ms(percentile(&p.latencies, 0.5)),
            ms(percentile(&p.latencies, 0.99)),
            ms(p.latencies.last().copied().unwrap_or_default()),
            p.other,
            p.cpu
                .map(|s| format!("{:.0}", s * 1e6 / p.applied.max(1) as f64))
                .join(" / "),
            p.machine_busy * 100.0
        );
    }
    if !pg_rows.is_empty() {
        println!("\n## PostgreSQL alone: pgbench, one batch's statements per transaction\n");
        println!(
            "| batch size | clients | tps | changes/s (tps × size) | latency avg | p50 | p99 | failed | central / pgbench |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        for (size, clients, r) in &pg_rows {
            let central = central_rows
                .iter()
                .find(|row| row.0 == *size && row.1 == *clients)
                .map_or(0.0, |row| row.2);
            let pg_rate = r.tps * *size as f64;
            println!(
                "| {size} | {clients} | {:.0} | {pg_rate:.0} | {:.2} ms | {} | {} | {} of {} | {:.0} % |",
                r.tps,
                r.latency_avg_ms,
                ms(percentile(&r.latencies, 0.5)),
                ms(percentile(&r.latencies, 0.99)),
                r.failed,
                r.transactions,
                100.0 * central / pg_rate.max(1e-9)
            );
        }
        println!("\nAverage latency per pgbench command (ms, `-r`):\n");
        println!(
            "| command | {} |",
            pg_rows
                .iter()
                .map(|(s, c, _)| format!("{s} × {c}"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        println!("|---|{}", "---|".repeat(pg_rows.len()));
        for (i, name) in STATEMENTS.iter().enumerate() {
            let cells: Vec<String> = pg_rows
                .iter()
                .map(|(_, _, r)| {
                    r.statements
                        .get(i)
                        .map_or("-".into(), |v| format!("{v:.3}"))
                })
                .collect();
            println!("| {name} | {} |", cells.join(" | "));
        }
    }
    if let Some((.., sequential, _)) = central_rows.iter().find(|r| r.0 == 500 && r.1 == 1) {
        println!(
            "\nTarget: a 500-change batch applies ≥ 5,000 changes/s: {sequential:.0} changes/s from one connection — {}.",
            if *sequential >= 5000.0 {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    println!("\n- load average at the end: {}", load_average());
    Ok(())
}

/// Statistics, no dead rows and no checkpoint due at the start of a
/// measurement (unless `--no-vacuum`).
async fn vacuum(cli: &Cli, conn: &mut PgConnection) -> anyhow::Result<()> {
    if !cli.no_vacuum {
        for sql in [
            "VACUUM ANALYZE snapshots, central_stock, events, operations",
            "CHECKPOINT",
        ] {
            sqlx::raw_sql(sql).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

async fn locate_pgbench(cli: &Cli) -> anyhow::Result<PathBuf> {
    let (path, version) = bench::locate_pgbench(cli.pgbench.as_deref())
        .await
        .context("pass --pgbench, or --skip-pgbench")?;
    println!("- {version}");
    Ok(path)
}

/// User + system CPU seconds of a process (clock ticks of 10 ms).
fn process_cpu(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some((fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?) / 100.0)
}

/// (busy, total) CPU ticks of the machine.
fn machine_cpu() -> Option<(f64, f64)> {
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
