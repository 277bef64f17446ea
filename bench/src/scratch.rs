//! The throw-away things one run creates besides its processes: databases
//! `bench_<id>[_<name>]`, a private nudge exchange `bench-<id>` (each
//! service gets it as `AMQP_EXCHANGE`, so a run never touches another's
//! queues), and a temporary directory for logs, keys and scripts; and
//! their removal at the end, also after an error or Ctrl-C.

use std::path::PathBuf;
use std::time::Duration;

use uuid::Uuid;

use crate::StackArgs;
use crate::database::Databases;

/// Names of everything a run creates, from one random id.
#[derive(Debug)]
pub struct Scratch {
    pub databases: Databases,
    pub amqp_url: String,
    /// The private `AMQP_EXCHANGE`.
    pub exchange: String,
    /// `<tmp>/<bench>-<id>`; created by [`Scratch::create_dir`].
    pub dir: PathBuf,
}

impl Scratch {
    /// Names the databases (`bench_<id>` alone if `databases` is empty,
    /// else `bench_<id>_<name>` for each), the exchange and the directory;
    /// creates nothing yet.
    pub fn new(stack: &StackArgs, bench: &str, databases: &[&str]) -> anyhow::Result<Self> {
        let id = Uuid::new_v4().simple().to_string();
        let names = if databases.is_empty() {
            vec![format!("bench_{id}")]
        } else {
            databases
                .iter()
                .map(|name| format!("bench_{id}_{name}"))
                .collect()
        };
        Ok(Self {
            databases: Databases::new(&stack.database_url, names)?,
            amqp_url: stack.amqp_url.clone(),
            exchange: format!("bench-{id}"),
            dir: std::env::temp_dir().join(format!("{bench}-{id}")),
        })
    }

    /// Creates the temporary directory.
    pub fn create_dir(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|error| anyhow::anyhow!("creating {}: {error}", self.dir.display()))
    }

    /// Drops the databases created, deletes `queues` and the exchanges
    /// `extra_exchanges` (names under [`Scratch::exchange`] that a worker
    /// declared) and the exchange itself, and removes the directory unless
    /// `keep_dir`. Call it once the processes are stopped. Reports problems
    /// but never fails.
    pub async fn remove(&mut self, queues: &[String], extra_exchanges: &[String], keep_dir: bool) {
        self.databases.drop_created().await;
        let mut exchanges = vec![self.exchange.clone()];
        exchanges.extend_from_slice(extra_exchanges);
        if let Err(error) = delete_broker_names(&self.amqp_url, queues, &exchanges).await {
            eprintln!(
                "[teardown] broker names under {} not all deleted: {error:#}",
                self.exchange
            );
        }
        if keep_dir {
            eprintln!("[teardown] logs kept in {}", self.dir.display());
        } else if self.dir.exists()
            && let Err(error) = std::fs::remove_dir_all(&self.dir)
        {
            eprintln!(
                "[teardown] could not remove {}: {error}",
                self.dir.display()
            );
        }
    }
}

/// Deletes `queues`, then `exchanges` (RabbitMQ deletes a name that does
/// not exist without error); gives up after 10 s.
async fn delete_broker_names(
    amqp_url: &str,
    queues: &[String],
    exchanges: &[String],
) -> anyhow::Result<()> {
    let work = async {
        let connection = lapin::Connection::connect(amqp_url, Default::default()).await?;
        let channel = connection.create_channel().await?;
        for queue in queues {
            channel
                .queue_delete(queue.as_str().into(), Default::default())
                .await?;
        }
        for exchange in exchanges {
            channel
                .exchange_delete(exchange.as_str().into(), Default::default())
                .await?;
        }
        connection.close(200, "benchmark done".into()).await.ok();
        anyhow::Ok(())
    };
    tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .map_err(|_| anyhow::anyhow!("timed out"))?
}
