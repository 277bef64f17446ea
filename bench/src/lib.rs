//! What the three benchmark binaries (`store-bench`, `central_bench`,
//! `sync_bench`) share: the options naming the servers and the binaries
//! under test, dropping the benchmark's databases, finding pgbench, and the
//! statistics helpers.

pub mod stats;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use sqlx::{Connection, PgConnection};
use tokio::process::Command;

/// Where the benchmark runs: the servers it creates its databases and broker
/// names on (and removes them from), and the release binaries it starts.
#[derive(Debug, Clone, clap::Args)]
pub struct StackArgs {
    /// PostgreSQL server on which the `bench_<uuid>*` databases are created
    /// and finally dropped.
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub database_url: String,
    /// RabbitMQ handed to the services (their sync nudges).
    #[arg(
        long,
        env = "BENCH_AMQP_URL",
        hide_env_values = true,
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    pub amqp_url: String,
    /// Directory holding the release binaries.
    #[arg(long, default_value = "target/release")]
    pub bin_dir: PathBuf,
}

/// Drops `names` on the server of `admin_url` (connections are closed by
/// force); gives up after a minute.
pub async fn drop_databases(admin_url: &str, names: &[String]) -> anyhow::Result<()> {
    let work = async {
        let mut admin = PgConnection::connect(admin_url).await?;
        for name in names {
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await?;
        }
        admin.close().await.ok();
        anyhow::Ok(())
    };
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .map_err(|_| anyhow::anyhow!("timed out"))?
}

/// `explicit`, else PostgreSQL 15's pgbench, else `pgbench` on PATH: its
/// path and what `--version` printed.
pub async fn locate_pgbench(explicit: Option<&Path>) -> anyhow::Result<(PathBuf, String)> {
    let candidates: Vec<PathBuf> = match explicit {
        Some(path) => vec![path.to_owned()],
        None => vec![
            PathBuf::from("/usr/lib/postgresql/15/bin/pgbench"),
            PathBuf::from("pgbench"),
        ],
    };
    for path in candidates {
        if let Ok(output) = Command::new(&path).arg("--version").output().await
            && output.status.success()
        {
            let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            return Ok((path, version));
        }
    }
    bail!("pgbench not found: install PostgreSQL's client tools or pass --pgbench")
}
