//! Any process's Prometheus `/metrics`, read as sums of samples.

use std::time::Duration;

use reqwest::Client;

use crate::harness::wait::wait_until;

/// A process's `/metrics` (a worker's, or a store's).
#[derive(Debug, Clone)]
pub struct MetricsApi {
    pub url: String,
    http: Client,
}

impl MetricsApi {
    pub fn new(url: String, http: Client) -> Self {
        Self { url, http }
    }

    /// Waits (failing after `timeout`) until [`MetricsApi::metric`] of
    /// `name` and `labels` reaches `at_least`.
    pub async fn wait_for_metric(
        &self,
        name: &str,
        labels: &str,
        at_least: f64,
        timeout: Duration,
    ) {
        let what = format!("{name}{{{labels}}} ≥ {at_least}");
        wait_until(&what, timeout, || async {
            self.metric(name, labels).await >= at_least
        })
        .await;
    }

    /// Waits (failing after `timeout`) until this worker has applied at
    /// least `changes` changes at central.
    pub async fn wait_for_applied(&self, changes: f64, timeout: Duration) {
        self.wait_for_metric(
            "sync_changes_total",
            "outcome=\"applied\"",
            changes,
            timeout,
        )
        .await;
    }

    /// The sum of every sample of `name` whose labels contain `labels`
    /// (e.g. `outcome="ok"`); 0 when absent or unreachable.
    pub async fn metric(&self, name: &str, labels: &str) -> f64 {
        let Ok(response) = self.http.get(format!("{}/metrics", self.url)).send().await else {
            return 0.0;
        };
        let text = response.text().await.unwrap_or_default();
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.rsplit_once(' '))
            .filter(|(series, _)| {
                let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
                metric == name && rest.contains(labels)
            })
            .filter_map(|(_, value)| value.parse::<f64>().ok())
            .sum()
    }
}
