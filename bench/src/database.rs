//! The throw-away databases of one run, on the server of
//! `BENCH_DATABASE_URL`: their names and URLs, creating them, and dropping
//! exactly those that were created.

use std::time::Duration;

use anyhow::Context;
use sqlx::{Connection, PgConnection};

/// The databases one run uses, and how many of them exist so far (so that
/// teardown drops exactly what setup created).
#[derive(Debug)]
pub struct Databases {
    admin_url: String,
    names: Vec<String>,
    urls: Vec<String>,
    created: usize,
}

impl Databases {
    /// Names the databases `names` on the server of `admin_url`; creates
    /// nothing yet.
    pub fn new(admin_url: &str, names: Vec<String>) -> anyhow::Result<Self> {
        let base = reqwest::Url::parse(admin_url).context("BENCH_DATABASE_URL is not a URL")?;
        let urls = names
            .iter()
            .map(|name| {
                let mut url = base.clone();
                url.set_path(&format!("/{name}"));
                url.to_string()
            })
            .collect();
        Ok(Self {
            admin_url: admin_url.to_owned(),
            names,
            urls,
            created: 0,
        })
    }

    /// The name of database `index`.
    pub fn name(&self, index: usize) -> &str {
        &self.names[index]
    }

    /// The URL of database `index`.
    pub fn url(&self, index: usize) -> &str {
        &self.urls[index]
    }

    /// Every URL, in order.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// Creates every database, in order.
    pub async fn create(&mut self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(&self.admin_url)
            .await
            .context("connecting to BENCH_DATABASE_URL")?;
        for name in &self.names[self.created..] {
            sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .with_context(|| format!("creating the benchmark database {name}"))?;
            self.created += 1;
        }
        admin.close().await.ok();
        Ok(())
    }

    /// Drops the databases created so far (connections are closed by
    /// force; gives up after a minute). Reports problems but never fails.
    pub async fn drop_created(&mut self) {
        let created = &self.names[..self.created];
        if created.is_empty() {
            return;
        }
        let list = created.join(", ");
        match drop_databases(&self.admin_url, created).await {
            Ok(()) => {
                eprintln!("[teardown] database(s) {list} dropped");
                self.created = 0;
            }
            Err(error) => eprintln!("[teardown] could not drop database(s) {list}: {error:#}"),
        }
    }
}

/// Drops `names` on the server of `admin_url` (connections are closed by
/// force); gives up after a minute.
async fn drop_databases(admin_url: &str, names: &[String]) -> anyhow::Result<()> {
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

/// The version string of the server behind `url`.
pub async fn server_version(url: &str) -> anyhow::Result<String> {
    let mut conn = PgConnection::connect(url).await?;
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await.ok();
    Ok(version)
}
