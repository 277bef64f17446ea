//! What sync_bench reads from the running stack besides the load's own
//! answers: a service's `/metrics`, counts in the databases, the pending
//! backlog at the stores, the nudges waiting in the stores' queues; and the
//! `ANALYZE` that starts each phase.

use sqlx::PgPool;

use crate::stack::Stack;
use crate::{Cli, STORES};

impl Stack {
    /// The Prometheus text of `base/metrics` (empty if it does not answer).
    pub async fn scrape(&self, base: &str) -> String {
        match self.http.get(format!("{base}/metrics")).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// A query's single `bigint`.
    pub async fn count(pool: &PgPool, sql: &str) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(sql).fetch_one(pool).await?)
    }

    /// Statistics for the planner at the start of a phase (unless
    /// `--no-analyze`), as autovacuum keeps them on a system in service.
    pub async fn analyze(&self, cli: &Cli) -> anyhow::Result<()> {
        if !cli.no_analyze {
            for pool in std::iter::once(&self.central_db).chain(&self.store_dbs) {
                sqlx::raw_sql("ANALYZE").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Changes still pending at the two stores together.
    pub async fn pending(&self) -> anyhow::Result<i64> {
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
    pub async fn queue_depths(&self) -> anyhow::Result<Vec<u32>> {
        let conn = lapin::Connection::connect(&self.scratch.amqp_url, Default::default()).await?;
        let channel = conn.create_channel().await?;
        let mut depths = Vec::new();
        for store in STORES {
            let options = lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            let name = format!("{}.store.{store}", self.scratch.exchange);
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
}
