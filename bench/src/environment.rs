//! The throw-away world store-bench runs in: a fresh database, a release
//! `store-app` serving it on a free port, a temporary directory, a nudge
//! exchange of its own. [`BenchEnv::teardown`] removes all of it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use bench::StackArgs;
use bench::binary::{self, Binary};
use bench::database;
use bench::scratch::Scratch;
use sqlx::{Connection, PgConnection};
use tokio::process::Child;

use crate::load::Target;

/// The prototype's ten SKUs, loaded by `store-app populate`.
pub const SAMPLE_SKUS: &[&str] = &domain::catalogue::SAMPLE_SKUS;

/// The SKU that gets the long stream (registered from an extra catalogue).
pub const LONG_SKU: &str = "BENCH-LONG-001";
/// A SKU with nothing but its registration until the comparison.
pub const FRESH_SKU: &str = "BENCH-FRESH-001";

/// How long `store-app serve` may take to report ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything set up for one run; fields fill in as setup proceeds so
/// teardown removes exactly what exists.
pub struct BenchEnv {
    scratch: Scratch,
    store_app: Binary,
    port: u16,
    store: Option<Child>,
    /// Whether the store runs with `LOCAL_AUTH=required`.
    local_auth: bool,
    /// The till's token, once the store issued it.
    token: Option<String>,
    /// The generated SKUs loaded instead of the sample ones, if any.
    generated: Option<&'static [&'static str]>,
}

/// The till the bench acts as (with `LOCAL_AUTH=required`).
const TILL_ID: &str = "bench-pos";

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
    /// `skus` asks for that many generated SKUs under load instead of the
    /// sample ones.
    pub fn new(stack: &StackArgs, local_auth: bool, skus: Option<usize>) -> anyhow::Result<Self> {
        let generated = skus.map(|count| {
            let names: Vec<&'static str> = (0..count)
                .map(|index| &*bench::catalogue::sku(index).leak())
                .collect();
            &*names.leak()
        });
        Ok(Self {
            generated,
            store_app: Binary::find(&stack.bin_dir, "store-app", "warn")?,
            scratch: Scratch::new(stack, "store-bench", &[])?,
            port: 0,
            store: None,
            local_auth,
            token: None,
        })
    }

    /// The SKUs the throughput load spreads over: the generated ones if
    /// asked for, else the prototype's ten.
    pub fn load_skus(&self) -> &'static [&'static str] {
        self.generated.unwrap_or(SAMPLE_SKUS)
    }

    /// The store under load, with the till's token.
    pub fn target(&self) -> Target {
        Target {
            base: self.base_url(),
            token: self.token.clone(),
        }
    }

    fn key_file(&self) -> PathBuf {
        self.scratch.dir.join("store-key.pem")
    }

    fn till_secret(&self) -> String {
        format!("{}-secret", self.scratch.exchange)
    }

    pub fn db_url(&self) -> &str {
        self.scratch.databases.url(0)
    }

    /// The store process's peak resident memory so far, in MiB.
    pub fn store_peak_rss_mib(&self) -> Option<f64> {
        let pid = self.store.as_ref()?.id()?;
        Some(bench::cpu::peak_rss_kib(pid)? as f64 / 1024.0)
    }

    pub fn db_name(&self) -> &str {
        self.scratch.databases.name(0)
    }

    pub fn tmp_dir(&self) -> &Path {
        &self.scratch.dir
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn store_log(&self) -> PathBuf {
        self.scratch.dir.join("store-app.log")
    }

    /// What every run of `store-app` gets: its database, the broker and
    /// its token settings.
    fn store_env(&self) -> [(&'static str, String); 5] {
        let local_auth = if self.local_auth { "required" } else { "off" };
        [
            ("DATABASE_URL", self.db_url().to_owned()),
            ("AMQP_URL", self.scratch.amqp_url.clone()),
            ("AMQP_EXCHANGE", self.scratch.exchange.clone()),
            ("LOCAL_AUTH", local_auth.to_owned()),
            (
                "STORE_JWT_PRIVATE_KEY_FILE",
                self.key_file().to_string_lossy().into_owned(),
            ),
        ]
    }

    /// Creates the database, migrates and populates it, starts the store and
    /// waits until it is ready.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        self.scratch.create_dir()?;
        self.scratch.databases.create().await?;
        eprintln!("[setup] database {} created", self.db_name());

        let env = self.store_env();
        self.store_app.run(&["migrate"], &env).await?;
        self.store_app.run(&["populate"], &env).await?;
        let catalogue = self.scratch.dir.join("bench-catalogue.csv");
        std::fs::write(
            &catalogue,
            format!(
                "sku,name,quantity\n{LONG_SKU},Long stream,1000\n{FRESH_SKU},Fresh stream,1000\n"
            ),
        )?;
        let catalogue = catalogue.to_string_lossy().into_owned();
        self.store_app
            .run(&["populate", "--catalogue", &catalogue], &env)
            .await?;
        if let Some(skus) = self.generated {
            let path = self.scratch.dir.join("generated-catalogue.csv");
            let generated = bench::catalogue::write(&path, skus.len())?;
            self.store_app
                .run(&["populate", "--catalogue", &generated], &env)
                .await?;
        }
        eprintln!("[setup] migrated and populated");
        let key = self.key_file().to_string_lossy().into_owned();
        self.store_app
            .run(&["keys", "generate", "--out", &key], &env)
            .await?;
        if self.local_auth {
            let secret = self.till_secret();
            let till = [
                "clients", "create", "--id", TILL_ID, "--role", "pos", "--secret", &secret,
            ];
            self.store_app.run(&till, &env).await?;
        }

        self.port = binary::free_port()?;
        let mut env = env.to_vec();
        env.push(("BIND_ADDR", format!("127.0.0.1:{}", self.port)));
        let store = self.store_app.spawn(&["serve"], &env, &self.store_log())?;
        let ready = format!("{}/health/ready", self.base_url());
        binary::wait_ready(
            &ready,
            Some(self.store.insert(store)),
            READY_TIMEOUT,
            |_| true,
        )
        .await?;
        eprintln!("[setup] store-app serving on {}", self.base_url());
        if self.local_auth {
            self.token = Some(self.fetch_token().await?);
            eprintln!("[setup] signed in as {TILL_ID} (LOCAL_AUTH=required)");
        }
        Ok(())
    }

    /// A token the store issues to the bench's till.
    async fn fetch_token(&self) -> anyhow::Result<String> {
        let http = reqwest::Client::new();
        bench::token::fetch(&http, &self.base_url(), TILL_ID, &self.till_secret()).await
    }

    /// The store's group commits so far, from its `/metrics`.
    pub async fn group_commits(&self) -> anyhow::Result<crate::report::GroupCommits> {
        let text = reqwest::get(format!("{}/metrics", self.base_url()))
            .await?
            .error_for_status()?
            .text()
            .await?;
        let value = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Ok(crate::report::GroupCommits {
            changes: value("store_group_commit_changes_sum "),
            groups: value("store_group_commit_changes_count "),
        })
    }

    /// The server's version string.
    pub async fn server_version(&self) -> anyhow::Result<String> {
        database::server_version(self.db_url()).await
    }

    /// Events, pending changes and snapshot size of some SKUs, in order.
    pub async fn stream_sizes(&self, skus: &[&str]) -> anyhow::Result<Vec<StreamSize>> {
        let mut conn = PgConnection::connect(self.db_url()).await?;
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
        let mut conn = PgConnection::connect(self.db_url()).await?;
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

    /// Runs `sql` (one or more statements) on the store's database.
    pub async fn execute(&self, sql: &str) -> anyhow::Result<()> {
        let mut conn = PgConnection::connect(self.db_url()).await?;
        sqlx::raw_sql(sql).execute(&mut conn).await?;
        Ok(())
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
        binary::print_log_tail(&self.store_log(), lines);
    }

    /// Stops the store, drops the database, deletes the exchange and the
    /// temporary directory. Reports problems but never fails.
    pub async fn teardown(&mut self) {
        if let Some(store) = self.store.take() {
            binary::stop(store, "store-app").await;
        }
        self.scratch.remove(&[], &[], false).await;
    }
}
