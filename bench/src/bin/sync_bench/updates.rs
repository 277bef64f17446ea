//! One store update as sync_bench sends it: `POST
//! /v1/local/inventory/{sku}/update` with a client-chosen operation id,
//! and the moment (µs since the epoch) its 201 arrived, which the latency
//! phase compares with central's `recorded_at`.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::bail;
use bench::catalogue::sku;
use serde_json::json;
use uuid::Uuid;

/// Now, in µs since the epoch.
fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// A store as a till reaches it: its URL and the token it issued.
#[derive(Debug, Clone)]
pub struct Till {
    pub url: String,
    pub token: String,
}

/// Updates the `sku_index`-th SKU of `till`'s store by `delta`;
/// `Ok(accepted at, in µs since the epoch)`, an error for any answer but
/// 201.
pub async fn update(
    http: &reqwest::Client,
    till: &Till,
    sku_index: usize,
    delta: i64,
    operation_id: Uuid,
) -> anyhow::Result<i64> {
    let response = http
        .post(format!(
            "{}/v1/local/inventory/{}/update",
            till.url,
            sku(sku_index)
        ))
        .bearer_auth(&till.token)
        .json(&json!({"delta": delta, "operation_id": operation_id, "reason": "bench"}))
        .send()
        .await?;
    let accepted = now_us();
    let status = response.status();
    if status != reqwest::StatusCode::CREATED {
        bail!("{status} {}", response.text().await.unwrap_or_default());
    }
    Ok(accepted)
}
