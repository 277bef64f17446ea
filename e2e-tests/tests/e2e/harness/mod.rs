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
pub mod process;
mod teardown;
pub mod wait;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::Client;
use sync_worker::retry::RetryPolicy;
use sync_worker::topology::BrokerTopology;
use tokio::sync::{Semaphore, SemaphorePermit};
use uuid::Uuid;

use self::clients::{CentralApi, MetricsApi, StoreApi};
use self::control::wait_ready;
use self::process::{Process, Spec};
use self::wait::wait_until;

/// A SKU of the sample catalogue every store starts with (50 in stock).
pub const SKU: &str = "ELEC-LAPTOP-001";
/// Every SKU of the sample catalogue.
pub const SKUS: [&str; 10] = [
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

/// The workers' retry delays in tests: short, so recovery is quick.
const RETRY_BASE: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How long a process may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Stacks running at once in this test binary (`E2E_PARALLEL`, default 1:
/// the timings asserted need the machine's cores).
fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let parallel = std::env::var("E2E_PARALLEL")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        Semaphore::new(parallel)
    })
}

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
    store_processes: Vec<Process>,
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
}

impl Stack {
    /// Two stores, one worker, defaults everywhere.
    pub async fn start() -> Self {
        Self::start_with(StackOptions::default()).await
    }

    /// The stack `options` describe, ready and warm: every worker is ready
    /// and every store has been synced once.
    pub async fn start_with(options: StackOptions) -> Self {
        let slot = slots().acquire().await.expect("semaphore open");
        let id = Uuid::new_v4().simple().to_string();
        let log_dir = infra::log_dir(&id);
        let http = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");

        let base_amqp = infra::amqp_url();
        infra::check_broker(&base_amqp).await;
        // From here on, whatever is created is removed when `resources`
        // drops, even if starting the stack fails half-way.
        let exchange = format!("test-{id}");
        let mut resources = Resources {
            id: id.clone(),
            databases: Vec::new(),
            amqp_url: base_amqp.clone(),
            vhost: None,
            exchanges: Vec::new(),
            queues: Vec::new(),
        };
        let store_ids: Vec<String> = (1..=options.stores)
            .map(|n| format!("STORE-{n:03}"))
            .collect();
        let database = |suffix: &str| format!("test_{id}_{suffix}");
        let mut databases = vec![database("central")];
        databases.extend((1..=options.stores).map(|n| database(&format!("store{n}"))));
        infra::create_databases(&databases).await;
        resources.databases = databases.clone();
        if options.own_vhost {
            let vhost = format!("test-{id}");
            infra::create_vhost(&vhost);
            resources.amqp_url = infra::with_vhost(&base_amqp, &vhost);
            resources.vhost = Some(vhost);
        }
        let amqp_url = resources.amqp_url.clone();

        let topology = BrokerTopology::new(&exchange, &RetryPolicy::new(RETRY_BASE, RETRY_MAX));
        let parsed_ids: Vec<domain::StoreId> = store_ids
            .iter()
            .map(|s| s.parse().expect("store id"))
            .collect();
        let names = topology.names();
        let central_exchange = if options.lose_central_nudges {
            format!("{exchange}.nowhere")
        } else {
            exchange.clone()
        };
        resources.exchanges = vec![
            names.exchange().to_owned(),
            names.dead_letter_exchange(),
            names.retry_exchange(),
            format!("{exchange}.nowhere"),
        ];
        resources.queues = topology.queues(parsed_ids.iter());

        let db_url = |name: &str| infra::with_database(&infra::database_url(), name);
        let central_bin = infra::binary("central-app");
        let key_file = log_dir.join("central-key.pem");
        Spec::new("central-keys", central_bin.clone())
            .args(["keys", "generate", "--out", &key_file.to_string_lossy()])
            .run();
        let central_env = |spec: Spec| spec.env("DATABASE_URL", db_url(&databases[0]));
        central_env(Spec::new("central-migrate", central_bin.clone()).args(["migrate"])).run();
        central_env(Spec::new("central-populate", central_bin.clone()))
            .args(["populate", "--stores", &store_ids.join(",")])
            .run();
        let (admin_id, admin_secret) = (format!("admin-{id}"), Uuid::new_v4().to_string());
        let (worker_id, worker_secret) = (format!("worker-{id}"), Uuid::new_v4().to_string());
        for (client, role, secret) in [
            (&admin_id, "admin", &admin_secret),
            (&worker_id, "sync-worker", &worker_secret),
        ] {
            central_env(Spec::new("central-clients", central_bin.clone()))
                .args([
                    "clients", "create", "--id", client, "--role", role, "--secret", secret,
                ])
                .run();
        }

        let central_url = format!("http://127.0.0.1:{}", infra::free_port());
        let mut central_spec = central_env(Spec::new("central", central_bin).args(["serve"]))
            .env("BIND_ADDR", central_url.trim_start_matches("http://"))
            .env("JWT_PRIVATE_KEY_FILE", key_file.to_string_lossy())
            .env("AMQP_URL", amqp_url.clone())
            .env("AMQP_EXCHANGE", central_exchange);
        if let Some(ttl) = &options.token_ttl {
            central_spec = central_spec.env("TOKEN_TTL", ttl.clone());
        }

        let mut stack = Self {
            central: CentralApi::new(central_url.clone(), http.clone(), admin_id, admin_secret),
            stores: Vec::new(),
            workers: Vec::new(),
            http: http.clone(),
            log_dir: log_dir.clone(),
            central_spec,
            central_process: None,
            store_processes: Vec::new(),
            worker_specs: Vec::new(),
            worker_processes: Vec::new(),
            resources,
            topology,
            _slot: slot,
        };
        stack.start_central().await;

        let store_bin = infra::binary("store-app");
        let mut stores_spec = Vec::new();
        for (n, store_id) in store_ids.iter().enumerate() {
            let url = format!("http://127.0.0.1:{}", infra::free_port());
            let spec = Spec::new(format!("store{}", n + 1), store_bin.clone())
                .env("STORE_ID", store_id.clone())
                .env("DATABASE_URL", db_url(&databases[n + 1]))
                .env("CENTRAL_URL", central_url.clone())
                .env("AMQP_URL", amqp_url.clone())
                .env("AMQP_EXCHANGE", exchange.clone())
                .env("BIND_ADDR", url.trim_start_matches("http://"));
            spec.clone().args(["migrate"]).run();
            spec.clone().args(["populate"]).run();
            let process = spec.args(["serve"]).spawn(&log_dir);
            stack.store_processes.push(process);
            stores_spec.push(format!("{store_id}={url}"));
            stack
                .stores
                .push(StoreApi::new(store_id.clone(), url, http.clone()));
        }
        for n in 0..stack.stores.len() {
            let url = format!("{}/health/ready", stack.stores[n].url);
            let process = &mut stack.store_processes[n];
            wait_ready(&http, process, &url, |body| {
                body["checks"]["broker"]["ok"] == true
            })
            .await;
        }

        let worker_bin = infra::binary("sync-worker");
        for n in 0..options.workers {
            let port = infra::free_port();
            let mut spec = Spec::new(format!("worker{}", n + 1), worker_bin.clone())
                .args(["serve"])
                .env("AMQP_URL", amqp_url.clone())
                .env("AMQP_EXCHANGE", exchange.clone())
                .env("CENTRAL_URL", central_url.clone())
                .env("CLIENT_ID", worker_id.clone())
                .env("CLIENT_SECRET", worker_secret.clone())
                .env("STORES", stores_spec.join(","))
                .env("SYNC_INTERVAL", "1h")
                .env("RETRY_BASE_DELAY", format!("{}ms", RETRY_BASE.as_millis()))
                .env("RETRY_MAX_DELAY", format!("{}ms", RETRY_MAX.as_millis()))
                .env("METRICS_ADDR", format!("127.0.0.1:{port}"));
            for (key, value) in &options.worker_env {
                spec = spec.env(key, value.clone());
            }
            stack.worker_specs.push(spec);
            stack.worker_processes.push(None);
            stack.workers.push(MetricsApi::new(
                format!("http://127.0.0.1:{port}"),
                http.clone(),
            ));
            stack.start_worker(n).await;
        }
        stack.warm_up().await;
        stack
    }

    /// Waits until every store was synced once (the schedulers' first
    /// round), so tokens and key sets are fetched before a test measures.
    async fn warm_up(&self) {
        let stores = self.stores.len() as f64;
        wait_until("the first sync of every store", READY_TIMEOUT, || async {
            let mut runs = 0.0;
            for worker in &self.workers {
                runs += worker.metric("sync_runs_total", "outcome=\"ok\"").await;
            }
            runs >= stores
        })
        .await;
    }

    /// The store at `index` (0-based).
    pub fn store(&self, index: usize) -> &StoreApi {
        &self.stores[index]
    }
}
