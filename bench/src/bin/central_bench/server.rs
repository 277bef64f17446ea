//! central_bench's server: a throw-away database `bench_<uuid>` and a
//! release `central-app` serving it on a free port (prepared by
//! `bench::central::prepare`, with a private `AMQP_EXCHANGE`), a bearer
//! token for the batch API, and the teardown that removes all of it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bench::binary::{self, Binary};
use bench::catalogue;
use bench::central::{self, WORKER_CLIENT_ID};
use bench::scratch::Scratch;
use tokio::process::Child;

use crate::Cli;

/// The throw-away database, key, server and temporary directory.
pub struct Central {
    scratch: Scratch,
    central_app: Binary,
    port: u16,
    server: Option<Child>,
}

impl Central {
    /// Checks the binary and names everything; creates nothing yet.
    pub fn new(cli: &Cli) -> anyhow::Result<Self> {
        Ok(Self {
            central_app: Binary::find(
                &cli.stack.bin_dir,
                "central-app",
                "info,sqlx=warn,lapin=warn",
            )?,
            scratch: Scratch::new(&cli.stack, "central-bench", &[])?,
            port: 0,
            server: None,
        })
    }

    /// `path` on the server.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn db_url(&self) -> &str {
        self.scratch.databases.url(0)
    }

    pub fn db_name(&self) -> &str {
        self.scratch.databases.name(0)
    }

    /// The temporary directory (pgbench's script and logs go there too).
    pub fn dir(&self) -> &Path {
        &self.scratch.dir
    }

    /// The server's process id, once it runs.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().and_then(Child::id)
    }

    fn log(&self) -> PathBuf {
        self.scratch.dir.join("central.log")
    }

    /// Database, key, catalogue, client, server; returns a sync-worker token.
    pub async fn start(&mut self, cli: &Cli) -> anyhow::Result<String> {
        self.scratch.create_dir()?;
        self.scratch.databases.create().await?;
        let env = [("DATABASE_URL", self.db_url().to_owned())];
        let catalogue = catalogue::write(&self.scratch.dir.join("catalogue.csv"), cli.skus)?;
        let stores: Vec<String> = (0..cli.stores).map(catalogue::store).collect();
        let prepared = central::prepare(
            &self.central_app,
            &env,
            &self.scratch.dir,
            &stores,
            &catalogue,
        )
        .await?;
        eprintln!(
            "[setup] {} migrated, {} stores × {} SKUs",
            self.db_name(),
            cli.stores,
            cli.skus
        );

        self.port = binary::free_port()?;
        let serve_env = [
            env[0].clone(),
            ("BIND_ADDR", format!("127.0.0.1:{}", self.port)),
            ("JWT_PRIVATE_KEY_FILE", prepared.key_file),
            ("TOKEN_TTL", "2h".to_owned()),
            ("AMQP_URL", self.scratch.amqp_url.clone()),
            ("AMQP_EXCHANGE", self.scratch.exchange.clone()),
        ];
        let server = self
            .central_app
            .spawn(&["serve"], &serve_env, &self.log())?;
        let ready = self.url("/health/ready");
        binary::wait_ready(
            &ready,
            Some(self.server.insert(server)),
            Duration::from_secs(30),
            |_| true,
        )
        .await?;
        let http = reqwest::Client::new();
        let base = self.url("");
        let token =
            bench::token::fetch(&http, &base, WORKER_CLIENT_ID, &prepared.worker_secret).await?;
        eprintln!("[setup] central-app serving on {}", self.url(""));
        Ok(token)
    }

    /// Prints the end of the server's log (after a failure).
    pub fn print_log_tail(&self, lines: usize) {
        binary::print_log_tail(&self.log(), lines);
    }

    /// Kills the server, drops the database, deletes the exchange and the
    /// directory; reports problems but never fails.
    pub async fn teardown(&mut self) {
        if let Some(server) = self.server.take() {
            binary::stop(server, "central-app").await;
        }
        self.scratch.remove(&[], &[], false).await;
    }
}
