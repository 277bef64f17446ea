//! Holds at the store: central's word on them arrives with central's
//! changes; a sale may not take held units; the pick-up is a sale of the
//! held units naming its reservation, recorded once.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{LAPTOP, TestApp, assert_error, json_of, send, spawn_app};

/// Central's word on a hold of `quantity` laptops, as the pull brings it.
fn hold(id: uuid::Uuid, quantity: i64, status: &str, version: i64) -> Value {
    json!({
        "reservation_id": id, "sku": LAPTOP, "quantity": quantity, "status": status,
        "expires_at": "2030-01-01T00:00:00Z", "version": version,
    })
}

async fn pull(app: &TestApp, holds: Vec<Value>) {
    let body = json!({ "changes": [], "holds": holds, "checkpoint": "9-9" });
    let response = app.worker_post("/v1/sync/central-changes", body).await;
    assert_eq!(response.status(), 200);
}

async fn fulfil(app: &TestApp, id: uuid::Uuid) -> reqwest::Response {
    let path = format!("/v1/local/reservations/{id}/fulfil");
    send(app.request(Method::POST, &path)).await
}

#[tokio::test]
async fn held_units_are_not_for_sale_but_are_for_their_pick_up() {
    let app = spawn_app().await;
    let id = uuid::Uuid::now_v7();
    pull(&app, vec![hold(id, 48, "held", 1)]).await;
    let stock = app.stock(LAPTOP).await;
    assert_eq!(
        (stock["reserved"].as_i64(), stock["available"].as_i64()),
        (Some(48), Some(2))
    );

    let sale = app
        .post_update(LAPTOP, json!({ "kind": "sale", "delta": -3 }))
        .await;
    let body = assert_error(sale, 422, "insufficient_available").await;
    assert_eq!(body["details"]["available"], 2);
    let damage = app
        .post_update(LAPTOP, json!({ "kind": "damage", "delta": -1 }))
        .await;
    assert_eq!(damage.status(), 201, "only sales keep off held units");

    let response = fulfil(&app, id).await;
    assert_eq!(response.status(), 201);
    let pickup = json_of(response).await;
    assert_eq!(
        (pickup["kind"].as_str(), pickup["delta"].as_i64()),
        (Some("sale"), Some(-48))
    );
    let again = fulfil(&app, id).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let stock = app.stock(LAPTOP).await;
    assert_eq!(
        (stock["quantity"].as_i64(), stock["reserved"].as_i64()),
        (Some(1), Some(0))
    );
    let pending = app.worker_get_json("/v1/sync/pending?limit=10").await;
    let sale = pending["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|change| change["operation_id"] == pickup["operation_id"])
        .expect("the pick-up is pending");
    assert_eq!(sale["reservation_id"], json!(id));
    let copy = app.get_json(&format!("/v1/local/reservations/{id}")).await;
    assert_eq!(
        (copy["status"].as_str(), copy["picked_up"].as_bool()),
        (Some("held"), Some(true))
    );
}

#[tokio::test]
async fn an_ended_hold_cannot_be_picked_up_and_frees_its_units() {
    let app = spawn_app().await;
    let id = uuid::Uuid::now_v7();
    assert_error(fulfil(&app, id).await, 404, "reservation_not_found").await;
    pull(&app, vec![hold(id, 10, "held", 1)]).await;
    pull(&app, vec![hold(id, 10, "expired", 2)]).await;
    pull(&app, vec![hold(id, 10, "held", 1)]).await; // an older copy never wins
    assert_error(fulfil(&app, id).await, 409, "reservation_not_held").await;
    assert_eq!(app.stock(LAPTOP).await["available"], 50);
}

#[tokio::test]
async fn a_hold_past_its_deadline_keeps_nothing_from_a_sale() {
    let app = spawn_app().await;
    let mut late = hold(uuid::Uuid::now_v7(), 45, "held", 1);
    late["expires_at"] = json!("2020-01-01T00:00:00Z");
    pull(&app, vec![late]).await;
    assert_eq!(
        app.stock(LAPTOP).await["available"],
        50,
        "central lets it go anyway"
    );
    let sale = app
        .post_update(LAPTOP, json!({ "kind": "sale", "delta": -10 }))
        .await;
    assert_eq!(sale.status(), 201);
}

#[tokio::test]
async fn a_page_naming_a_hold_twice_keeps_the_newest_word() {
    let app = spawn_app().await;
    let id = uuid::Uuid::now_v7();
    // HoldPlaced and HoldExpired in one page: the hold, once per event.
    pull(
        &app,
        vec![hold(id, 10, "expired", 2), hold(id, 10, "held", 1)],
    )
    .await;
    let copy = app.get_json(&format!("/v1/local/reservations/{id}")).await;
    assert_eq!(copy["status"], "expired");
}
