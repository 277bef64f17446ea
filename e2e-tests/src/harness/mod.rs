//! [`Stack::start`]: a whole system of real processes for one test —
//! central, stores and workers on free ports, with fresh databases, a
//! signing key, clients and broker names of their own — torn down on drop
//! (children killed, databases dropped, broker names deleted; logs kept
//! under `target/e2e-logs/` when the test failed, or always with
//! `E2E_KEEP_LOGS=1`).

pub mod checks;
pub mod clients;
mod control;
pub mod infra;
pub mod load;
mod plan;
pub mod process;
mod start;
mod teardown;
pub mod wait;

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Client;
use sync_worker::topology::BrokerTopology;
use tokio::sync::SemaphorePermit;

pub use self::control::Service;

use self::clients::{CentralApi, MetricsApi, StoreApi};
use self::process::{Process, Spec};

/// A SKU of the sample catalogue every store starts with (50 in stock).
pub const SKU: &str = "ELEC-LAPTOP-001";
/// Every SKU of the sample catalogue.
pub use domain::catalogue::SAMPLE_SKUS as SKUS;

/// The workers' retry delays in tests: short, so recovery is quick.
const RETRY_BASE: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How long a process may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// What to start.
#[derive(Debug, Clone)]
pub struct StackOptions {
    pub stores: usize,
    pub workers: usize,
    /// Central's `TOKEN_TTL`, e.g. `3s`.
    pub token_ttl: Option<String>,
    /// Run in a vhost of its own (needed to drop every broker connection).
    pub own_vhost: bool,
    /// Extra environment of the workers, e.g. `BATCH_SIZE`.
    pub worker_env: Vec<(String, String)>,
    /// Central nudges an exchange no worker reads, as if its nudges were
    /// lost: only the workers' schedule brings head office's changes.
    pub lose_central_nudges: bool,
    /// A CSV catalogue (`sku,name,quantity`) for every store instead of
    /// the sample one.
    pub catalogue: Option<PathBuf>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            stores: 2,
            workers: 1,
            token_ttl: None,
            own_vhost: false,
            worker_env: Vec::new(),
            lose_central_nudges: false,
            catalogue: None,
        }
    }
}

/// A running system; see the module docs.
pub struct Stack {
    pub central: CentralApi,
    pub stores: Vec<StoreApi>,
    pub workers: Vec<MetricsApi>,
    http: Client,
    log_dir: PathBuf,
    central_spec: Spec,
    central_process: Option<Process>,
    store_specs: Vec<Spec>,
    store_processes: Vec<Option<Process>>,
    worker_specs: Vec<Spec>,
    worker_processes: Vec<Option<Process>>,
    resources: Resources,
    topology: BrokerTopology,
    _slot: SemaphorePermit<'static>,
}

/// What a stack created outside its processes; removed on drop.
struct Resources {
    id: String,
    databases: Vec<String>,
    amqp_url: String,
    vhost: Option<String>,
    exchanges: Vec<String>,
    queues: Vec<String>,
    /// Where central publishes low-stock events.
    events_exchange: String,
}

impl Stack {
    /// The store at `index` (0-based).
    pub fn store(&self, index: usize) -> &StoreApi {
        &self.stores[index]
    }

    /// The name of each database: central's, then one a store.
    pub fn database_names(&self) -> &[String] {
        &self.resources.databases
    }

    /// The URL of each database: central's, then one a store.
    pub fn database_urls(&self) -> Vec<String> {
        self.database_names()
            .iter()
            .map(|name| infra::with_database(&infra::database_url(), name))
            .collect()
    }

    /// Where the processes' logs are.
    pub fn log_dir(&self) -> &std::path::Path {
        &self.log_dir
    }

    /// The broker URL the stack's processes use (its vhost, if it has one).
    pub fn amqp_url(&self) -> &str {
        &self.resources.amqp_url
    }

    /// The topic exchange central publishes low-stock events to.
    pub fn events_exchange(&self) -> &str {
        &self.resources.events_exchange
    }
}
