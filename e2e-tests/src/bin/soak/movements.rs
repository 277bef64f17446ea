//! Retail movements in the load: physical counts at the tills, and
//! transfers from one store to the other, each step retried as a client
//! would (same operation or transfer id) through every fault.
//!
//! A transfer flow: head office requests it (1 in 5 is then cancelled
//! before it ships); the source waits until it has heard of it and ships;
//! the destination waits until it has heard of the shipment and receives
//! every unit. A shipment refused for want of stock is cancelled instead.

use std::time::{Duration, Instant};

use rand::Rng;
use rand::rngs::StdRng;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::load::{Acked, HeadOffice, Origin, Record, Till, answer, lock, send};

/// How often head office asks for a transfer.
pub const TRANSFER_EVERY: Duration = Duration::from_secs(3);
/// How long a flow waits for a store to hear of a step.
const HEAR_TIMEOUT: Duration = Duration::from_secs(180);

/// A count at a till; a count that differs is an acknowledged change of
/// kind `count`, one that matches is recorded for the checker.
pub async fn count(http: &Client, till: &Till, sku: &str, counted: i64, record: &Record) {
    let operation_id = Uuid::now_v7();
    let url = format!("{}/v1/local/inventory/{sku}/count", till.url);
    let body = json!({ "counted": counted, "operation_id": operation_id, "reason": "soak count" });
    let Some((status, answer)) =
        send(record, operation_id, || till.post(http, &url).json(&body)).await
    else {
        return;
    };
    record.count("count", status);
    if status != StatusCode::CREATED {
        return;
    }
    if answer["delta"] == 0 {
        lock(&record.matched_counts).push((till.store_id.clone(), operation_id));
    } else {
        acked(record, till, operation_id, "count");
    }
}

fn acked(record: &Record, till: &Till, operation_id: Uuid, kind: &str) {
    lock(&record.acked).push(Acked {
        store_id: till.store_id.clone(),
        operation_id,
        origin: Origin::Store,
        kind: kind.to_owned(),
    });
}

/// One transfer, drawn from the seed.
pub struct TransferFlow {
    id: Uuid,
    from: Till,
    to: Till,
    sku: String,
    quantity: i64,
    cancel: bool,
}

impl TransferFlow {
    pub fn draw(rng: &mut StdRng, tills: &[Till], skus: &[String]) -> Self {
        let from = rng.random_range(0..tills.len());
        let to = (from + 1 + rng.random_range(0..tills.len() - 1)) % tills.len();
        Self {
            id: Uuid::now_v7(),
            from: tills[from].clone(),
            to: tills[to].clone(),
            sku: skus[rng.random_range(0..skus.len())].clone(),
            quantity: rng.random_range(1..=3),
            cancel: rng.random_bool(0.2),
        }
    }

    fn expect(&self, record: &Record, status: &'static str) {
        lock(&record.transfers).insert(self.id, status);
    }

    /// Runs the flow to its end (or until a step is given up: then the
    /// transfer's recorded status is not final and the checker says so).
    pub async fn run(self, http: &Client, office: &HeadOffice, record: &Record) {
        let body = json!({
            "transfer_id": self.id, "from_store": self.from.store_id,
            "to_store": self.to.store_id, "sku": self.sku, "quantity": self.quantity,
        });
        let Some((status, _)) = office
            .post(http, "/v1/transfers", &body, self.id, record)
            .await
        else {
            return;
        };
        record.count("transfer", status);
        if status != StatusCode::CREATED {
            return;
        }
        self.expect(record, "requested");
        if self.cancel {
            return self.cancel(http, office, record).await;
        }
        if !self.heard(http, &self.from, "requested", record).await {
            return;
        }
        let url = format!("{}/v1/local/transfers/{}/ship", self.from.url, self.id);
        let Some((status, shipped)) = send(record, self.id, || self.from.post(http, &url)).await
        else {
            return;
        };
        record.count("ship", status);
        match status {
            StatusCode::CREATED => {}
            StatusCode::UNPROCESSABLE_ENTITY => return self.cancel(http, office, record).await,
            _ => return,
        }
        acked(record, &self.from, operation_id(&shipped), "transfer_out");
        self.expect(record, "shipped");
        if !self.heard(http, &self.to, "shipped", record).await {
            return;
        }
        let url = format!("{}/v1/local/transfers/{}/receive", self.to.url, self.id);
        let body = json!({ "received": self.quantity });
        let Some((status, received)) =
            send(record, self.id, || self.to.post(http, &url).json(&body)).await
        else {
            return;
        };
        record.count("receive", status);
        if status == StatusCode::CREATED {
            acked(record, &self.to, operation_id(&received), "transfer_in");
            self.expect(record, "received");
        }
    }

    async fn cancel(&self, http: &Client, office: &HeadOffice, record: &Record) {
        let path = format!("/v1/transfers/{}/cancel", self.id);
        if let Some((status, _)) = office.post(http, &path, &json!({}), self.id, record).await {
            record.count("cancel", status);
            if status == StatusCode::OK {
                self.expect(record, "cancelled");
            }
        }
    }

    /// Waits until `till`'s copy of the transfer stands at `local_status`;
    /// false when it never did.
    async fn heard(&self, http: &Client, till: &Till, local_status: &str, record: &Record) -> bool {
        let url = format!("{}/v1/local/transfers/{}", till.url, self.id);
        let started = Instant::now();
        while started.elapsed() < HEAR_TIMEOUT {
            if let Some((StatusCode::OK, copy)) = answer(till.get(http, &url)).await
                && copy["local_status"] == local_status
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        lock(&record.abandoned).push(self.id);
        false
    }
}

fn operation_id(answer: &Value) -> Uuid {
    answer["operation_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_default()
}
