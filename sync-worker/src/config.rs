//! Typed settings of the worker, read from flags or environment variables by
//! clap and checked before anything starts. Secrets live in [`Secret`],
//! which never prints its value.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use domain::StoreId;
use reqwest::Url;
use service_infra::sync_bus::{DEFAULT_EXCHANGE, DEV_AMQP_URL};

pub use service_infra::secret::Secret;

/// One store the worker syncs: its id and the base URL of its `store-app`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreEndpoint {
    pub id: StoreId,
    pub url: Url,
}

/// The stores of `STORES`, in the order given; ids are unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stores(Vec<StoreEndpoint>);

/// Why a `STORES` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoresError {
    #[error("lists no store; expected STORE_ID=URL[,STORE_ID=URL...]")]
    Empty,
    #[error("entry {0:?} is not STORE_ID=URL")]
    NotAPair(String),
    #[error("entry {entry:?}: {reason}")]
    BadStoreId { entry: String, reason: String },
    #[error("entry {entry:?}: {reason}")]
    BadUrl { entry: String, reason: String },
    #[error("store {0} is listed twice")]
    Duplicate(String),
}

impl FromStr for Stores {
    type Err = StoresError;

    /// Parses `STORE-001=http://127.0.0.1:8001,STORE-002=http://...`;
    /// whitespace around entries and a trailing comma are allowed.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let mut seen = BTreeSet::new();
        let mut stores = Vec::new();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, url) = entry
                .split_once('=')
                .ok_or_else(|| StoresError::NotAPair(entry.to_owned()))?;
            let id: StoreId = id.trim().parse().map_err(|e: domain::values::ValueError| {
                StoresError::BadStoreId {
                    entry: entry.to_owned(),
                    reason: e.to_string(),
                }
            })?;
            let url = parse_http_url(url.trim()).map_err(|reason| StoresError::BadUrl {
                entry: entry.to_owned(),
                reason,
            })?;
            if !seen.insert(id.clone()) {
                return Err(StoresError::Duplicate(id.to_string()));
            }
            stores.push(StoreEndpoint { id, url });
        }
        if stores.is_empty() {
            return Err(StoresError::Empty);
        }
        Ok(Self(stores))
    }
}

impl Stores {
    /// The stores in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &StoreEndpoint> {
        self.0.iter()
    }

    /// The store with this id, if configured.
    pub fn get(&self, id: &StoreId) -> Option<&StoreEndpoint> {
        self.0.iter().find(|store| &store.id == id)
    }
}

/// An absolute `http` or `https` URL.
pub fn parse_http_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("{value:?} is not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.has_host() => Ok(url),
        _ => Err(format!("{value:?} is not an http(s) URL with a host")),
    }
}

/// Everything the worker needs to know.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerConfig {
    /// RabbitMQ URL (default: the local stack's development broker).
    #[arg(long, env = "AMQP_URL", default_value = DEV_AMQP_URL, hide_env_values = true, hide_default_value = true)]
    pub amqp_url: Secret,
    /// Exchange nudges arrive on; every queue name derives from it.
    #[arg(long, env = "AMQP_EXCHANGE", default_value = DEFAULT_EXCHANGE)]
    pub amqp_exchange: String,
    /// Central's base URL.
    #[arg(long, env = "CENTRAL_URL", default_value = "http://127.0.0.1:8000", value_parser = parse_http_url)]
    pub central_url: Url,
    /// OAuth2 client id of this worker (role `sync-worker`) at central.
    #[arg(long, env = "CLIENT_ID")]
    pub client_id: String,
    /// OAuth2 client secret of this worker.
    #[arg(long, env = "CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Secret,
    /// The stores to sync: `STORE-001=http://127.0.0.1:8001,STORE-002=...`.
    #[arg(long, env = "STORES")]
    pub stores: Stores,
    /// How often the scheduler nudges every store (safety net), e.g. `15m`.
    #[arg(long, env = "SYNC_INTERVAL", default_value = "15m")]
    pub sync_interval: humantime::Duration,
    /// Changes pushed to central per request (1 to 1000).
    #[arg(long, env = "BATCH_SIZE", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub batch_size: u32,
    /// Address of the metrics and health server.
    #[arg(long, env = "METRICS_ADDR", default_value = "0.0.0.0:9100")]
    pub metrics_addr: SocketAddr,
    /// Delay before the first retry of a failed sync; doubles per attempt.
    #[arg(long, env = "RETRY_BASE_DELAY", default_value = "1s")]
    pub retry_base_delay: humantime::Duration,
    /// Longest delay between retries of a failed sync.
    #[arg(long, env = "RETRY_MAX_DELAY", default_value = "30s")]
    pub retry_max_delay: humantime::Duration,
    /// Timeout of every HTTP request to central and the stores.
    #[arg(long, env = "HTTP_TIMEOUT", default_value = "10s")]
    pub http_timeout: humantime::Duration,
}

impl WorkerConfig {
    /// Checks what clap cannot: sensible durations.
    pub fn validate(&self) -> anyhow::Result<()> {
        let at_least = |name: &str, value: Duration, min: Duration| {
            anyhow::ensure!(
                value >= min,
                "{name} must be at least {min:?}, got {value:?}"
            );
            Ok(())
        };
        at_least(
            "SYNC_INTERVAL",
            self.sync_interval.into(),
            Duration::from_secs(1),
        )?;
        at_least(
            "RETRY_BASE_DELAY",
            self.retry_base_delay.into(),
            Duration::from_millis(100),
        )?;
        at_least(
            "HTTP_TIMEOUT",
            self.http_timeout.into(),
            Duration::from_millis(100),
        )?;
        anyhow::ensure!(
            Duration::from(self.retry_max_delay) >= Duration::from(self.retry_base_delay),
            "RETRY_MAX_DELAY must not be shorter than RETRY_BASE_DELAY"
        );
        anyhow::ensure!(!self.client_id.is_empty(), "CLIENT_ID must not be empty");
        anyhow::ensure!(
            !self.amqp_exchange.is_empty(),
            "AMQP_EXCHANGE must not be empty"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(stores: &Stores) -> Vec<&str> {
        stores.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn stores_parse_in_order_with_their_urls() {
        let stores: Stores = "STORE-001=http://127.0.0.1:8001, STORE-002=http://10.0.0.2:8002/,"
            .parse()
            .expect("valid STORES");
        assert_eq!(ids(&stores), ["STORE-001", "STORE-002"]);
        let second = stores
            .get(&"STORE-002".parse().expect("store id"))
            .expect("STORE-002 configured");
        assert_eq!(second.url.as_str(), "http://10.0.0.2:8002/");
    }

    #[test]
    fn empty_stores_are_refused() {
        assert_eq!("".parse::<Stores>(), Err(StoresError::Empty));
        assert_eq!(" , ".parse::<Stores>(), Err(StoresError::Empty));
    }

    #[test]
    fn an_entry_without_url_is_refused() {
        assert!(matches!(
            "STORE-001".parse::<Stores>(),
            Err(StoresError::NotAPair(_))
        ));
    }

    #[test]
    fn an_invalid_store_id_is_refused() {
        let err = "store-1=http://x:1"
            .parse::<Stores>()
            .expect_err("lower case id");
        assert!(matches!(err, StoresError::BadStoreId { .. }), "{err}");
    }

    #[test]
    fn a_url_that_is_not_http_is_refused() {
        for url in ["ftp://x", "not a url", "127.0.0.1:8001"] {
            let err = format!("STORE-001={url}")
                .parse::<Stores>()
                .expect_err("not an http URL");
            assert!(matches!(err, StoresError::BadUrl { .. }), "{url}: {err}");
        }
    }

    #[test]
    fn a_store_listed_twice_is_refused() {
        let err = "STORE-001=http://a:1,STORE-001=http://b:2"
            .parse::<Stores>()
            .expect_err("duplicate");
        assert_eq!(err, StoresError::Duplicate("STORE-001".into()));
    }
}
