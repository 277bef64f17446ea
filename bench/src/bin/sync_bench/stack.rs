//! sync_bench's stack, started from the release binaries as the e2e harness
//! does: central, `STORE-001` and `STORE-002` and one worker, each on a
//! fresh database (`bench_<uuid>_*`), with a private `AMQP_EXCHANGE`; the
//! worker stopped and restarted for the drain; and the teardown that
//! removes processes, databases and broker names.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use bench::binary::{self, Binary};
use bench::catalogue;
use bench::central::{self, WORKER_CLIENT_ID};
use bench::scratch::Scratch;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::process::{Child, Command};

use crate::updates::Till;
use crate::{Cli, STORES};

/// The till the load acts as at both stores.
const TILL_ID: &str = "bench-till";

/// How long each service may take to report ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The worker's `RETRY_BASE_DELAY` and `RETRY_MAX_DELAY`, in seconds.
const RETRY_DELAYS_S: (u64, u64) = (1, 30);

/// The running system and what it created.
pub struct Stack {
    /// The databases (central, store 1, store 2), the exchange, and the
    /// directory with the processes' logs (and the key and catalogue).
    pub scratch: Scratch,
    central_app: Binary,
    store_app: Binary,
    sync_worker: Binary,
    pub central_url: String,
    pub store_urls: Vec<String>,
    /// Each store as the load reaches it: its URL and a till's token the
    /// store issued (its local API runs with `LOCAL_AUTH=required`).
    pub tills: Vec<Till>,
    /// The worker's metrics and health server.
    pub worker_url: String,
    worker_env: Vec<(&'static str, String)>,
    /// central-app, store-app 1, store-app 2.
    pub services: Vec<Child>,
    pub worker: Option<Child>,
    pub central_db: PgPool,
    pub store_dbs: Vec<PgPool>,
    pub http: reqwest::Client,
}

impl Stack {
    /// Checks the binaries and names everything; creates nothing yet.
    pub fn new(cli: &Cli) -> anyhow::Result<Self> {
        let find = |name: &str| {
            Binary::find(&cli.stack.bin_dir, name, "info,sqlx=warn,lapin=warn")
                .map(Binary::isolated)
        };
        let (central_app, store_app, sync_worker) = (
            find("central-app")?,
            find("store-app")?,
            find("sync-worker")?,
        );
        let scratch = Scratch::new(&cli.stack, "sync-bench", &["central", "store1", "store2"])?;
        // Lazy pools: they connect once the databases exist.
        let pool = |url: &String| PgPoolOptions::new().max_connections(2).connect_lazy(url);
        let urls = scratch.databases.urls();
        Ok(Self {
            central_db: pool(&urls[0])?,
            store_dbs: urls[1..].iter().map(pool).collect::<Result<_, _>>()?,
            scratch,
            central_app,
            store_app,
            sync_worker,
            central_url: String::new(),
            store_urls: Vec::new(),
            tills: Vec::new(),
            worker_url: String::new(),
            worker_env: Vec::new(),
            services: Vec::new(),
            worker: None,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
        })
    }

    /// Central's database.
    pub fn central_db_url(&self) -> &str {
        self.scratch.databases.url(0)
    }

    /// Databases, central, the stores, the worker; returns once the worker
    /// has synced each store once.
    pub async fn start(&mut self, cli: &Cli) -> anyhow::Result<()> {
        self.scratch.create_dir()?;
        self.scratch.databases.create().await?;
        let catalogue = catalogue::write(&self.scratch.dir.join("catalogue.csv"), cli.skus)?;
        let secret = self.start_central(&catalogue).await?;
        self.start_stores(&catalogue).await?;
        let metrics = format!("127.0.0.1:{}", binary::free_port()?);
        self.worker_url = format!("http://{metrics}");
        let stores: Vec<String> = STORES
            .iter()
            .zip(&self.store_urls)
            .map(|(s, u)| format!("{s}={u}"))
            .collect();
        self.worker_env = vec![
            ("AMQP_URL", self.scratch.amqp_url.clone()),
            ("AMQP_EXCHANGE", self.scratch.exchange.clone()),
            ("CENTRAL_URL", self.central_url.clone()),
            ("CLIENT_ID", WORKER_CLIENT_ID.into()),
            ("CLIENT_SECRET", secret),
            ("STORES", stores.join(",")),
            ("SYNC_INTERVAL", "1h".into()),
            ("BATCH_SIZE", cli.batch_size.to_string()),
            ("RETRY_BASE_DELAY", format!("{}s", RETRY_DELAYS_S.0)),
            ("RETRY_MAX_DELAY", format!("{}s", RETRY_DELAYS_S.1)),
            ("METRICS_ADDR", metrics),
        ];
        self.spawn_worker()?;
        let ready = format!("{}/health/ready", self.worker_url);
        binary::wait_ready(&ready, self.worker.as_mut(), READY_TIMEOUT, |_| true).await?;
        self.wait_first_syncs().await?;
        eprintln!(
            "[setup] central {}, stores {:?}, worker metrics {}",
            self.central_url, self.store_urls, self.worker_url
        );
        Ok(())
    }

    /// Prepares and starts central; returns the worker client's secret.
    async fn start_central(&mut self, catalogue: &str) -> anyhow::Result<String> {
        let env = [("DATABASE_URL", self.scratch.databases.url(0).to_owned())];
        let stores = STORES.map(str::to_owned);
        let prepared = central::prepare(
            &self.central_app,
            &env,
            &self.scratch.dir,
            &stores,
            catalogue,
        )
        .await?;
        let bind = format!("127.0.0.1:{}", binary::free_port()?);
        self.central_url = format!("http://{bind}");
        let env = [
            env[0].clone(),
            ("BIND_ADDR", bind),
            ("JWT_PRIVATE_KEY_FILE", prepared.key_file),
            ("AMQP_URL", self.scratch.amqp_url.clone()),
            ("AMQP_EXCHANGE", self.scratch.exchange.clone()),
        ];
        let central =
            self.central_app
                .spawn(&["serve"], &env, &self.scratch.dir.join("central.log"))?;
        self.services.push(central);
        let ready = format!("{}/health/ready", self.central_url);
        binary::wait_ready(&ready, self.services.last_mut(), READY_TIMEOUT, |_| true).await?;
        Ok(prepared.worker_secret)
    }

    /// Migrates, populates and starts both stores; returns once both are
    /// ready with their broker connection up.
    async fn start_stores(&mut self, catalogue: &str) -> anyhow::Result<()> {
        for (n, store) in STORES.iter().enumerate() {
            let bind = format!("127.0.0.1:{}", binary::free_port()?);
            self.store_urls.push(format!("http://{bind}"));
            let key = self.scratch.dir.join(format!("store{}-key.pem", n + 1));
            let key = key.to_string_lossy().into_owned();
            let env = [
                ("STORE_ID", (*store).to_owned()),
                ("STORE_JWT_PRIVATE_KEY_FILE", key.clone()),
                ("DATABASE_URL", self.scratch.databases.url(n + 1).to_owned()),
                ("CENTRAL_URL", self.central_url.clone()),
                ("AMQP_URL", self.scratch.amqp_url.clone()),
                ("AMQP_EXCHANGE", self.scratch.exchange.clone()),
                ("BIND_ADDR", bind),
            ];
            self.store_app.run(&["migrate"], &env).await?;
            self.store_app
                .run(&["populate", "--catalogue", catalogue], &env)
                .await?;
            self.store_app
                .run(&["keys", "generate", "--out", &key], &env)
                .await?;
            let till = ["clients", "create", "--id", TILL_ID, "--role", "pos"];
            let secret = ["--secret", &self.till_secret()];
            let args: Vec<&str> = till.iter().chain(&secret).copied().collect();
            self.store_app.run(&args, &env).await?;
            let log = self.scratch.dir.join(format!("store{}.log", n + 1));
            let child = self.store_app.spawn(&["serve"], &env, &log)?;
            self.services.push(child);
        }
        for n in 0..STORES.len() {
            let ready = format!("{}/health/ready", self.store_urls[n]);
            binary::wait_ready(
                &ready,
                self.services.get_mut(n + 1),
                READY_TIMEOUT,
                |body| body["checks"]["broker"]["ok"] == true,
            )
            .await?;
            let url = self.store_urls[n].clone();
            let token = self.till_token(&url).await?;
            self.tills.push(Till { url, token });
        }
        Ok(())
    }

    /// The till's secret at both stores (this run only).
    fn till_secret(&self) -> String {
        format!("{}-till", self.scratch.exchange)
    }

    /// A token the store at `url` issues to the bench's till.
    async fn till_token(&self, url: &str) -> anyhow::Result<String> {
        bench::token::fetch(&self.http, url, TILL_ID, &self.till_secret()).await
    }

    /// Waits (at most 60 s) until the worker has synced each store once.
    async fn wait_first_syncs(&self) -> anyhow::Result<()> {
        let give_up = Instant::now() + Duration::from_secs(60);
        while crate::metrics::metric(
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
        Ok(())
    }

    /// The worker's log (every start appends to it).
    pub fn worker_log(&self) -> PathBuf {
        self.scratch.dir.join("worker.log")
    }

    /// Starts the worker (its log is appended to `worker.log`).
    pub fn spawn_worker(&mut self) -> anyhow::Result<()> {
        let log = self.worker_log();
        self.worker = Some(self.sync_worker.spawn(&["serve"], &self.worker_env, &log)?);
        Ok(())
    }

    /// SIGTERM, then SIGKILL after 15 s; how long it took to exit.
    pub async fn stop_worker(&mut self) -> anyhow::Result<Duration> {
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

    /// Kills every process, drops the databases, deletes the broker names
    /// and the logs (unless `keep_logs`). Reports problems but never fails.
    pub async fn teardown(&mut self, keep_logs: bool) {
        if let Some(worker) = self.worker.take() {
            binary::stop(worker, "sync-worker").await;
        }
        for (child, name) in
            self.services
                .drain(..)
                .zip(["central-app", "store-app 1", "store-app 2"])
        {
            binary::stop(child, name).await;
        }
        self.central_db.close().await;
        for pool in &self.store_dbs {
            pool.close().await;
        }
        let x = &self.scratch.exchange;
        let mut queues: Vec<String> = STORES.iter().map(|s| format!("{x}.store.{s}")).collect();
        queues.push(format!("{x}.dead-letter"));
        queues.extend(retry_levels_s().map(|s| format!("{x}.retry.{}ms", s * 1000)));
        let exchanges = [format!("{x}.dead-letter"), format!("{x}.retry")];
        self.scratch.remove(&queues, &exchanges, keep_logs).await;
    }
}

/// The worker's retry delays, one queue each: the base, doubling, up to
/// and including the maximum (1, 2, 4, 8, 16, 30 s).
fn retry_levels_s() -> impl Iterator<Item = u64> {
    let (base, max) = RETRY_DELAYS_S;
    let mut next = Some(base.min(max));
    std::iter::from_fn(move || {
        let level = next?;
        next = (level < max).then(|| (level * 2).min(max));
        Some(level)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_levels_match_the_worker() {
        assert_eq!(retry_levels_s().collect::<Vec<_>>(), [1, 2, 4, 8, 16, 30]);
    }
}
