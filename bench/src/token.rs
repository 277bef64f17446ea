//! Client credentials for the benchmarks: a token from central's or a
//! store's `/auth/token`.

use anyhow::Context;
use serde_json::Value;

/// A token that `base_url`'s `/auth/token` issues to `client_id`.
pub async fn fetch(
    http: &reqwest::Client,
    base_url: &str,
    client_id: &str,
    secret: &str,
) -> anyhow::Result<String> {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
    ];
    let answer: Value = http
        .post(format!("{}/auth/token", base_url.trim_end_matches('/')))
        .form(&form)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no access_token from {base_url}: {answer}"))
}
