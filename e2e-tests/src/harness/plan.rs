//! The plan of one stack: the names of everything it creates, all derived
//! from a fresh id (databases, broker names, vhost, clients, log
//! directory), and the command line and environment of each process.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Client;
use sync_worker::retry::RetryPolicy;
use sync_worker::topology::BrokerTopology;
use uuid::Uuid;

use super::process::Spec;
use super::{RETRY_BASE, RETRY_MAX, StackOptions, infra};

/// A client of central or of a store: its id and secret.
pub(super) struct Credentials {
    pub id: String,
    pub secret: String,
}

impl Credentials {
    /// `{prefix}-{stack id}` with a random secret.
    fn new(prefix: &str, id: &str) -> Self {
        Self {
            id: format!("{prefix}-{id}"),
            secret: Uuid::new_v4().to_string(),
        }
    }
}

/// What one stack is made of; nothing exists yet but the log directory.
pub(super) struct Plan {
    pub options: StackOptions,
    pub id: String,
    pub log_dir: PathBuf,
    pub http: Client,
    /// `TEST_AMQP_URL`, the broker the stack's vhost (if any) is created on.
    pub base_amqp_url: String,
    /// The stack's own vhost ([`StackOptions::own_vhost`]).
    pub vhost: Option<String>,
    /// Where every process connects: the base URL or the own vhost.
    pub amqp_url: String,
    /// The nudge exchange of the stores and workers.
    pub exchange: String,
    pub topology: BrokerTopology,
    pub store_ids: Vec<String>,
    /// Central's database, then one a store.
    pub databases: Vec<String>,
    pub admin: Credentials,
    pub worker: Credentials,
    /// The `manager` client created at every store; the harness's local
    /// calls carry its token.
    pub manager: Credentials,
}

impl Plan {
    /// Names everything after a fresh id and creates the log directory.
    pub fn new(options: StackOptions) -> Self {
        let id = Uuid::new_v4().simple().to_string();
        let log_dir = infra::log_dir(&id);
        let http = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        let base_amqp_url = infra::amqp_url();
        let vhost = options.own_vhost.then(|| format!("test-{id}"));
        let amqp_url = match &vhost {
            Some(vhost) => infra::with_vhost(&base_amqp_url, vhost),
            None => base_amqp_url.clone(),
        };
        let exchange = format!("test-{id}");
        let topology = BrokerTopology::new(&exchange, &RetryPolicy::new(RETRY_BASE, RETRY_MAX));
        let store_ids = (1..=options.stores)
            .map(|n| format!("STORE-{n:03}"))
            .collect();
        let database = |suffix: &str| format!("test_{id}_{suffix}");
        let mut databases = vec![database("central")];
        databases.extend((1..=options.stores).map(|n| database(&format!("store{n}"))));
        Self {
            admin: Credentials::new("admin", &id),
            worker: Credentials::new("worker", &id),
            manager: Credentials::new("manager", &id),
            options,
            id,
            log_dir,
            http,
            base_amqp_url,
            vhost,
            amqp_url,
            exchange,
            topology,
            store_ids,
            databases,
        }
    }

    /// Every exchange the stack's processes may declare.
    pub fn exchanges(&self) -> Vec<String> {
        let names = self.topology.names();
        vec![
            names.exchange().to_owned(),
            names.dead_letter_exchange(),
            names.retry_exchange(),
            self.nowhere_exchange(),
            self.events_exchange(),
        ]
    }

    /// The exchange central publishes low-stock events to.
    pub fn events_exchange(&self) -> String {
        format!("{}.events", self.exchange)
    }

    /// Every queue the stack's workers may declare.
    pub fn queues(&self) -> Vec<String> {
        let ids: Vec<domain::StoreId> = self
            .store_ids
            .iter()
            .map(|s| s.parse().expect("store id"))
            .collect();
        self.topology.queues(ids.iter())
    }

    /// The exchange central nudges with [`StackOptions::lose_central_nudges`].
    fn nowhere_exchange(&self) -> String {
        format!("{}.nowhere", self.exchange)
    }

    /// Store `index`'s (0-based) signing key, generated into the log
    /// directory.
    pub fn store_key_file(&self, index: usize) -> PathBuf {
        self.log_dir.join(format!("store{}-key.pem", index + 1))
    }

    /// Central's signing key, generated into the log directory.
    pub fn key_file(&self) -> PathBuf {
        self.log_dir.join("central-key.pem")
    }

    /// The URL of `self.databases[index]`.
    fn database_url(&self, index: usize) -> String {
        infra::with_database(&infra::database_url(), &self.databases[index])
    }

    /// `central-app` on central's database, named `name`.
    pub fn central(&self, name: &str) -> Spec {
        Spec::new(name, infra::binary("central-app")).env("DATABASE_URL", self.database_url(0))
    }

    /// `central-app serve` on `address`.
    pub fn central_service(&self, address: &str) -> Spec {
        let exchange = if self.options.lose_central_nudges {
            self.nowhere_exchange()
        } else {
            self.exchange.clone()
        };
        let mut spec = self
            .central("central")
            .args(["serve"])
            .env("BIND_ADDR", address)
            .env("JWT_PRIVATE_KEY_FILE", self.key_file().to_string_lossy())
            .env("AMQP_URL", self.amqp_url.clone())
            .env("AMQP_EXCHANGE", exchange)
            .env("EVENTS_EXCHANGE", self.events_exchange())
            .env("HOLD_EXPIRY_INTERVAL", "200ms");
        if let Some(ttl) = &self.options.token_ttl {
            spec = spec.env("TOKEN_TTL", ttl.clone());
        }
        spec
    }

    /// `store-app` of store `index` (0-based) serving on `address`, without
    /// its subcommand.
    pub fn store(&self, index: usize, central_url: &str, address: &str) -> Spec {
        Spec::new(format!("store{}", index + 1), infra::binary("store-app"))
            .env("STORE_ID", self.store_ids[index].clone())
            .env(
                "STORE_JWT_PRIVATE_KEY_FILE",
                self.store_key_file(index).to_string_lossy(),
            )
            // The harness signs in once per stack (its token must outlive
            // the longest soak).
            .env("TOKEN_TTL", "24h")
            .env("DATABASE_URL", self.database_url(index + 1))
            .env("CENTRAL_URL", central_url)
            .env("AMQP_URL", self.amqp_url.clone())
            .env("AMQP_EXCHANGE", self.exchange.clone())
            .env("BIND_ADDR", address)
    }

    /// `sync-worker serve` number `index` (0-based) for `stores`
    /// (`ID=URL,…`), its metrics on `metrics_address`; the schedule is an
    /// hour unless [`StackOptions::worker_env`] says otherwise.
    pub fn worker(
        &self,
        index: usize,
        central_url: &str,
        stores: &str,
        metrics_address: &str,
    ) -> Spec {
        let mut spec = Spec::new(format!("worker{}", index + 1), infra::binary("sync-worker"))
            .args(["serve"])
            .env("AMQP_URL", self.amqp_url.clone())
            .env("AMQP_EXCHANGE", self.exchange.clone())
            .env("CENTRAL_URL", central_url)
            .env("CLIENT_ID", self.worker.id.clone())
            .env("CLIENT_SECRET", self.worker.secret.clone())
            .env("STORES", stores)
            .env("SYNC_INTERVAL", "1h")
            .env("RETRY_BASE_DELAY", format!("{}ms", RETRY_BASE.as_millis()))
            .env("RETRY_MAX_DELAY", format!("{}ms", RETRY_MAX.as_millis()))
            .env("METRICS_ADDR", metrics_address);
        for (key, value) in &self.options.worker_env {
            spec = spec.env(key, value.clone());
        }
        spec
    }
}
