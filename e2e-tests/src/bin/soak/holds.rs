//! Reservations in the load: every 2 s head office holds 1–2 units at a
//! store for 5–20 s; the store picks up half of them once it has heard of
//! them (an acknowledged sale), head office releases a quarter, the rest
//! expire. Each step is retried through every fault with the same ids.

use std::time::{Duration, Instant};

use rand::Rng;
use rand::rngs::StdRng;
use reqwest::{Client, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::load::{Acked, HeadOffice, Origin, Record, Till, answer, lock, send};

/// How often head office holds units.
pub const HOLD_EVERY: Duration = Duration::from_secs(2);
/// How long a pick-up waits for the store to hear of its hold.
const HEAR_TIMEOUT: Duration = Duration::from_secs(60);

/// How a drawn hold is meant to end (it may end otherwise: expire before
/// the store heard of it, or go short).
#[derive(Debug, Clone, Copy)]
enum Ending {
    PickUp,
    Release,
    Expire,
}

/// One hold, drawn from the seed.
pub struct HoldFlow {
    id: Uuid,
    till: Till,
    sku: String,
    quantity: i64,
    expires_in: i64,
    ending: Ending,
}

impl HoldFlow {
    pub fn draw(rng: &mut StdRng, tills: &[Till], skus: &[String]) -> Self {
        Self {
            id: Uuid::now_v7(),
            till: tills[rng.random_range(0..tills.len())].clone(),
            sku: skus[rng.random_range(0..skus.len())].clone(),
            quantity: rng.random_range(1..=2),
            expires_in: rng.random_range(5..=20),
            ending: match rng.random_range(0..4) {
                0 | 1 => Ending::PickUp,
                2 => Ending::Release,
                _ => Ending::Expire,
            },
        }
    }

    /// Runs the hold to the step its ending takes.
    pub async fn run(self, http: &Client, office: &HeadOffice, record: &Record) {
        let path = format!("/v1/stores/{}/reservations", self.till.store_id);
        let body = json!({
            "reservation_id": self.id, "sku": self.sku, "quantity": self.quantity,
            "expires_in": self.expires_in,
        });
        let Some((status, _)) = office.post(http, &path, &body, self.id, record).await else {
            return;
        };
        record.count("hold", status);
        if status != StatusCode::CREATED {
            return;
        }
        lock(&record.holds).push((self.till.store_id.clone(), self.id));
        match self.ending {
            Ending::PickUp => self.pick_up(http, record).await,
            Ending::Release => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let path = format!("/v1/reservations/{}/release", self.id);
                if let Some((status, _)) =
                    office.post(http, &path, &json!({}), self.id, record).await
                {
                    record.count("release", status);
                }
            }
            Ending::Expire => {}
        }
    }

    /// Waits until the store has heard of the hold, then records the
    /// pick-up (a 409 means it ended first: expired or short).
    async fn pick_up(&self, http: &Client, record: &Record) {
        let url = format!("{}/v1/local/reservations/{}", self.till.url, self.id);
        let started = Instant::now();
        loop {
            if let Some((StatusCode::OK, _)) = answer(self.till.get(http, &url)).await {
                break;
            }
            if started.elapsed() > HEAR_TIMEOUT {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let url = format!("{}/v1/local/reservations/{}/fulfil", self.till.url, self.id);
        let Some((status, sale)) = send(record, self.id, || self.till.post(http, &url)).await
        else {
            return;
        };
        record.count("pick-up", status);
        if status == StatusCode::CREATED
            && let Some(operation_id) = sale["operation_id"].as_str().and_then(|id| id.parse().ok())
        {
            lock(&record.acked).push(Acked {
                store_id: self.till.store_id.clone(),
                operation_id,
                origin: Origin::Store,
                kind: "sale".to_owned(),
            });
        }
    }
}
