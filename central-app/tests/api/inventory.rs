//! Head-office changes and the stock queries.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{
    CAMERA, CAMERA_QUANTITY, STORE_1, STORE_2, TestClient, assert_refused, op, spawn_app,
};

#[tokio::test]
async fn chain_wide_availability_sums_every_store_with_a_breakdown() {
    let app = spawn_app().await;
    app.adjust(STORE_1, CAMERA, &json!({ "delta": -5 })).await;
    app.adjust(STORE_2, CAMERA, &json!({ "delta": 2 })).await;

    let (status, body) = app
        .get_as(TestClient::Worker, &format!("/v1/inventory/{CAMERA}"))
        .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Canon EOS R6");
    assert_eq!(body["total_quantity"], 2 * CAMERA_QUANTITY - 3);
    assert_eq!(
        body["stores"],
        json!([
            { "store_id": STORE_1, "quantity": CAMERA_QUANTITY - 5, "version": 1 },
            { "store_id": STORE_2, "quantity": CAMERA_QUANTITY + 2, "version": 1 },
        ])
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_store_item_shows_name_quantity_version_and_what_is_available() {
    let app = spawn_app().await;
    let (status, body) = app.item(STORE_1, "ELEC-TV-008").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "store_id": STORE_1, "sku": "ELEC-TV-008", "name": "LG OLED C2 65\"", "quantity": 15,
                "version": 0, "reserved": 0, "available": 15 })
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_head_office_change_is_logged_with_its_origin_and_reason_and_nudges_the_store() {
    let app = spawn_app().await;
    let online_order = json!({ "delta": -2, "operation_id": op(), "reason": "online order" });

    let (status, body) = app.adjust(STORE_1, CAMERA, &online_order).await;
    let (replay_status, replay) = app.adjust(STORE_1, CAMERA, &online_order).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["version"].clone(), body["quantity"].clone()),
        (json!(1), json!(CAMERA_QUANTITY - 2))
    );
    assert_eq!(replay_status, StatusCode::OK);
    assert_eq!(replay["replayed"], true);
    assert_eq!(
        app.nudger.nudged(),
        [STORE_1],
        "nudged once, after the first commit"
    );
    let (_, page) = app
        .events(&format!("store_id={STORE_1}&sku={CAMERA}"))
        .await;
    let last = page["events"]
        .as_array()
        .and_then(|e| e.last())
        .expect("an event");
    assert_eq!(last["event_type"], "ChangeApplied");
    assert_eq!(last["payload"]["ChangeApplied"]["origin"], "head_office");
    assert_eq!(last["metadata"]["reason"], "online order");
    app.cleanup().await;
}

#[tokio::test]
async fn a_head_office_change_without_an_operation_id_gets_one() {
    let app = spawn_app().await;
    let (status, first) = app.adjust(STORE_1, CAMERA, &json!({ "delta": 1 })).await;
    let (_, second) = app.adjust(STORE_1, CAMERA, &json!({ "delta": 1 })).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(first["operation_id"], second["operation_id"]);
    assert_eq!(second["version"], 2);
    app.cleanup().await;
}

#[tokio::test]
async fn a_head_office_compare_and_set_change_can_conflict() {
    let app = spawn_app().await;
    app.adjust(STORE_1, CAMERA, &json!({ "delta": 1 })).await;
    let stale = json!({ "delta": 1, "expected_version": 0 });
    let (status, body) = app.adjust(STORE_1, CAMERA, &stale).await;
    assert_refused(status, &body, StatusCode::CONFLICT, "version_conflict");
    assert_eq!(app.nudger.nudged().len(), 1);
    app.cleanup().await;
}
