//! The throw-away world a benchmark runs in: a fresh database, a release
//! `store-app` serving it on a free port, a temporary directory, a nudge
//! exchange of its own. [`BenchEnv::teardown`] removes all of it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::{Connection, PgConnection};
use tokio::process::{Child, Command};
use uuid::Uuid;

/// The prototype's ten SKUs, loaded by `store-app populate`.
pub const SAMPLE_SKUS: &[&str] = &[
    "ELEC-LAPTOP-001",
    "ELEC-PHONE-002",
    "ELEC-TABLET-003",
    "ELEC-WATCH-004",
    "ELEC-HEAD-005",
    "ELEC-CAM-006",
    "ELEC-GAME-007",
    "ELEC-TV-008",
    "ELEC-SPEAK-009",
    "ELEC-MON-010",
];

/// The SKU that gets the long stream (registered from an extra catalogue).
pub const LONG_SKU: &str = "BENCH-LONG-001";
/// A SKU with nothing but its registration until the comparison.
pub const FRESH_SKU: &str = "BENCH-FRESH-001";

/// How long `store-app serve` may take to report ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything set up for one run; fields fill in as setup proceeds so
/// teardown removes exactly what exists.
pub struct BenchEnv {
    admin_url: String,
    db_name: String,
    db_url: String,
    amqp_url: String,
    exchange: String,
    store_bin: PathBuf,
    tmp_dir: PathBuf,
    port: u16,
    db_created: bool,
    exchange_used: bool,
    store: Option<Child>,
}

/// Size of one SKU's stream and snapshot.
#[derive(Debug)]
pub struct StreamSize {
    pub sku: String,
    pub events: i64,
    pub pending: i64,
    pub payload_bytes: i64,
}

/// The unsynced backlog of some SKUs and the size of their snapshots, on average.
#[derive(Debug, Clone, Copy)]
pub struct Backlog {
    pub pending: i64,
    pub payload_bytes: i64,
}

impl std::fmt::Display for Backlog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} B snapshot)", self.pending, self.payload_bytes)
    }
}

impl BenchEnv {
    /// Checks the binary and names everything; creates nothing yet.
    pub fn new(admin_url: &str, amqp_url: &str, bin_dir: &Path) -> anyhow::Result<Self> {
        let store_bin = bin_dir.join("store-app");
        if !store_bin.is_file() {
            bail!(
                "{} not found: run cargo build --release --bins first (or pass --bin-dir)",
                store_bin.display()
            );
        }
        let id = Uuid::new_v4().simple().to_string();
        let db_name = format!("bench_{id}");
        let mut url = reqwest::Url::parse(admin_url).context("BENCH_DATABASE_URL is not a URL")?;
        url.set_path(&format!("/{db_name}"));
        Ok(Self {
            admin_url: admin_url.to_owned(),
            db_url: url.to_string(),
            db_name,
            amqp_url: amqp_url.to_owned(),
            exchange: format!("bench-{id}"),
            store_bin,
            tmp_dir: std::env::temp_dir().join(format!("store-bench-{id}")),
            port: 0,
            db_created: false,
            exchange_used: false,
            store: None,
        })
    }

    pub fn db_url(&self) -> &str {
        &self.db_url
    }

    pub fn db_name(&self) -> &str {
        &self.db_name
    }

    pub fn tmp_dir(&self) -> &Path {
        &self.tmp_dir
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn store_log(&self) -> PathBuf {
        self.tmp_dir.join("store-app.log")
    }

    /// Creates the database, migrates and populates it, starts the store and
    /// waits until it is ready.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.tmp_dir)
            .with_context(|| format!("creating {}", self.tmp_dir.display()))?;
        let mut admin = PgConnection::connect(&self.admin_url)
            .await
            .context("connecting to BENCH_DATABASE_URL")?;
        sqlx::raw_sql(&format!("CREATE DATABASE {}", self.db_name))
            .execute(&mut admin)
            .await
            .context("creating the benchmark database")?;
        self.db_created = true;
        admin.close().await.ok();
        eprintln!("[setup] database {} created", self.db_name);

        self.run_store_task(&["migrate"]).await?;
        self.run_store_task(&["populate"]).await?;
        let catalogue = self.tmp_dir.join("bench-catalogue.csv");
        std::fs::write(
            &catalogue,
            format!(
                "sku,name,quantity\n{LONG_SKU},Long stream,1000\n{FRESH_SKU},Fresh stream,1000\n"
            ),
        )?;
        let catalogue = catalogue.to_string_lossy().into_owned();
        self.run_store_task(&["populate", "--catalogue", &catalogue])
            .await?;
        eprintln!("[setup] migrated and populated");

        self.port = free_port()?;
        let log = std::fs::File::create(self.store_log())?;
        let mut command = self.store_command();
        command
            .arg("serve")
            .env("BIND_ADDR", format!("127.0.0.1:{}", self.port))
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        self.exchange_used = true;
        self.store = Some(command.spawn().context("starting store-app serve")?);
        self.wait_ready().await?;
        eprintln!("[setup] store-app serving on {}", self.base_url());
        Ok(())
    }

    fn store_command(&self) -> Command {
        let mut command = Command::new(&self.store_bin);
        command
            .env("DATABASE_URL", &self.db_url)
            .env("AMQP_URL", &self.amqp_url)
            .env("AMQP_EXCHANGE", &self.exchange)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Runs a `store-app` subcommand to completion (bounded to 5 minutes).
    async fn run_store_task(&self, args: &[&str]) -> anyhow::Result<()> {
        let mut command = self.store_command();
        command.args(args);
        let output = tokio::time::timeout(Duration::from_secs(300), command.output())
            .await
            .with_context(|| format!("store-app {} took over 5 minutes", args.join(" ")))?
            .with_context(|| format!("running store-app {}", args.join(" ")))?;
        if !output.status.success() {
            bail!(
                "store-app {} failed ({}): {}{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let url = format!("{}/health/ready", self.base_url());
        let give_up = Instant::now() + READY_TIMEOUT;
        let mut last = String::from("no answer");
        while Instant::now() < give_up {
            if let Some(store) = self.store.as_mut()
                && let Some(status) = store.try_wait()?
            {
                bail!("store-app serve exited during start-up ({status})");
            }
            match client.get(&url).send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => last = format!("{}", response.status()),
                Err(error) => last = error.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("store-app was not ready within {READY_TIMEOUT:?} (last: {last})")
    }

    /// The server's version string.
    pub async fn server_version(&self) -> anyhow::Result<String> {
        let mut conn = PgConnection::connect(&self.db_url).await?;
        let version: String = sqlx::query_scalar("SHOW server_version")
            .fetch_one(&mut conn)
            .await?;
        conn.close().await.ok();
        Ok(version)
    }

    /// Events, pending changes and snapshot size of some SKUs, in order.
    pub async fn stream_sizes(&self, skus: &[&str]) -> anyhow::Result<Vec<StreamSize>> {
        let mut conn = PgConnection::connect(&self.db_url).await?;
        let mut sizes = Vec::new();
        for sku in skus {
            let (events, pending, payload_bytes): (i64, i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM events WHERE aggregate_id = s.aggregate_id),
                        t.pending_changes::bigint,
                        octet_length(s.payload::text)::bigint
                   FROM snapshots s JOIN stock t ON t.sku = s.aggregate_id
                  WHERE s.aggregate_type = 'StockItem' AND s.aggregate_id = $1",
            )
            .bind(sku)
            .fetch_one(&mut conn)
            .await
            .with_context(|| format!("measuring the stream of {sku}"))?;
            sizes.push(StreamSize {
                sku: (*sku).to_owned(),
                events,
                pending,
                payload_bytes,
            });
        }
        conn.close().await.ok();
        Ok(sizes)
    }

    /// One SKU's snapshot payload, as the store wrote it.
    pub async fn snapshot_payload(&self, sku: &str) -> anyhow::Result<serde_json::Value> {
        let mut conn = PgConnection::connect(&self.db_url).await?;
        let payload = sqlx::query_scalar(
            "SELECT payload FROM snapshots WHERE aggregate_type = 'StockItem' AND aggregate_id = $1",
        )
        .bind(sku)
        .fetch_one(&mut conn)
        .await
        .with_context(|| format!("reading the snapshot of {sku}"))?;
        conn.close().await.ok();
        Ok(payload)
    }

    /// Average pending changes and snapshot size over some SKUs.
    pub async fn backlog(&self, skus: &[&str]) -> anyhow::Result<Backlog> {
        let sizes = self.stream_sizes(skus).await?;
        let n = sizes.len().max(1) as i64;
        Ok(Backlog {
            pending: sizes.iter().map(|s| s.pending).sum::<i64>() / n,
            payload_bytes: sizes.iter().map(|s| s.payload_bytes).sum::<i64>() / n,
        })
    }

    /// Prints the end of the store's log (after a failure).
    pub fn print_store_log_tail(&self, lines: usize) {
        if let Ok(text) = std::fs::read_to_string(self.store_log()) {
            let all: Vec<&str> = text.lines().collect();
            if !all.is_empty() {
                eprintln!("--- last lines of the store-app log ---");
                for line in &all[all.len().saturating_sub(lines)..] {
                    eprintln!("{line}");
                }
            }
        }
    }

    /// Stops the store, drops the database, deletes the exchange and the
    /// temporary directory. Reports problems but never fails.
    pub async fn teardown(&mut self) {
        if let Some(mut store) = self.store.take() {
            store.start_kill().ok();
            if tokio::time::timeout(Duration::from_secs(10), store.wait())
                .await
                .is_err()
            {
                eprintln!("[teardown] store-app did not exit within 10 s");
            }
        }
        if self.db_created {
            match self.drop_database().await {
                Ok(()) => eprintln!("[teardown] database {} dropped", self.db_name),
                Err(error) => eprintln!(
                    "[teardown] could not drop database {}: {error:#}",
                    self.db_name
                ),
            }
            self.db_created = false;
        }
        if self.exchange_used {
            if let Err(error) = self.delete_exchange().await {
                eprintln!(
                    "[teardown] could not delete exchange {}: {error:#}",
                    self.exchange
                );
            }
            self.exchange_used = false;
        }
        if self.tmp_dir.exists()
            && let Err(error) = std::fs::remove_dir_all(&self.tmp_dir)
        {
            eprintln!(
                "[teardown] could not remove {}: {error}",
                self.tmp_dir.display()
            );
        }
    }

    async fn drop_database(&self) -> anyhow::Result<()> {
        bench::drop_databases(&self.admin_url, std::slice::from_ref(&self.db_name)).await
    }

    async fn delete_exchange(&self) -> anyhow::Result<()> {
        let work = async {
            let connection =
                lapin::Connection::connect(&self.amqp_url, lapin::ConnectionProperties::default())
                    .await?;
            let channel = connection.create_channel().await?;
            channel
                .exchange_delete(self.exchange.as_str().into(), Default::default())
                .await?;
            connection.close(200, "benchmark done".into()).await.ok();
            anyhow::Ok(())
        };
        tokio::time::timeout(Duration::from_secs(10), work)
            .await
            .context("timed out")?
    }
}

/// A TCP port nothing listens on right now.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
