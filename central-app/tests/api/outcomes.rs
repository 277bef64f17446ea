//! Every outcome of a change, over HTTP.

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{
    CAMERA, CAMERA_QUANTITY, POPULATE_EVENTS, STORE_1, TestClient, assert_refused, change, op,
    single, spawn_app,
};

#[tokio::test]
async fn a_change_at_the_expected_version_is_applied() {
    let app = spawn_app().await;

    let (status, body) = app.push_camera_change(op(), -5, Some(0)).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "applied");
    assert_eq!(body["version"], 1);
    assert_eq!(body["quantity"], CAMERA_QUANTITY - 5);
    let (_, item) = app.item(STORE_1, CAMERA).await;
    assert_eq!(
        (item["version"].clone(), item["quantity"].clone()),
        (json!(1), json!(20))
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_with_central_figures() {
    let app = spawn_app().await;
    app.push_camera_change(op(), 2, None).await;

    let (status, body) = app.push_camera_change(op(), -1, Some(0)).await;

    assert_refused(status, &body, StatusCode::CONFLICT, "version_conflict");
    assert_eq!(body["version"], 1);
    assert_eq!(body["quantity"], CAMERA_QUANTITY + 2);
    assert_eq!(body["details"]["version"], 1);
    app.cleanup().await;
}

#[tokio::test]
async fn an_expected_version_ahead_of_central_is_version_ahead_and_not_recorded() {
    let app = spawn_app().await;
    let ahead = single(op(), -1, Some(1));

    let (status, body) = app.push_change(STORE_1, CAMERA, &ahead).await;
    assert_refused(status, &body, StatusCode::CONFLICT, "version_ahead");
    assert_eq!(body["version"], 0);

    // Retryable: once the earlier change arrives, the same push applies.
    app.push_camera_change(op(), 1, Some(0)).await;
    let (status, body) = app.push_change(STORE_1, CAMERA, &ahead).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2);
    app.cleanup().await;
}

#[tokio::test]
async fn a_change_that_would_make_stock_negative_is_insufficient_stock() {
    let app = spawn_app().await;

    let (status, body) = app
        .push_camera_change(op(), -(CAMERA_QUANTITY + 1), None)
        .await;

    assert_refused(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "insufficient_stock",
    );
    assert_eq!(body["quantity"], CAMERA_QUANTITY);
    assert_eq!(app.event_count().await, POPULATE_EVENTS);
    app.cleanup().await;
}

#[tokio::test]
async fn a_replayed_operation_gets_the_original_answer_and_applies_once() {
    let app = spawn_app().await;
    let id = op();
    let (_, first) = app.push_camera_change(id, -3, Some(0)).await;
    app.push_camera_change(op(), 1, None).await;

    let (status, replay) = app.push_camera_change(id, -3, Some(0)).await;

    assert_eq!(status, StatusCode::OK, "{replay}");
    assert_eq!(replay["replayed"], true);
    assert_eq!(
        (replay["version"].clone(), replay["quantity"].clone()),
        (first["version"].clone(), first["quantity"].clone())
    );
    assert_eq!(app.event_count().await, POPULATE_EVENTS + 2);
    app.cleanup().await;
}

#[tokio::test]
async fn a_replayed_refusal_is_refused_again_with_its_original_figures() {
    let app = spawn_app().await;
    let id = op();
    app.push_camera_change(op(), 1, None).await;
    app.push_camera_change(id, -1, Some(0)).await;
    app.push_camera_change(op(), 1, None).await;

    let (status, body) = app.push_camera_change(id, -1, Some(0)).await;

    assert_refused(status, &body, StatusCode::CONFLICT, "version_conflict");
    assert_eq!(
        body["version"], 1,
        "the original answer, not the current version"
    );
    assert_eq!(body["details"]["replayed"], true);
    app.cleanup().await;
}

#[tokio::test]
async fn an_operation_id_reused_for_another_change_is_refused() {
    let app = spawn_app().await;
    let id = op();
    app.push_camera_change(id, -3, None).await;

    let (status, other_delta) = app.push_camera_change(id, -4, None).await;
    assert_refused(
        status,
        &other_delta,
        StatusCode::CONFLICT,
        "operation_id_reused",
    );
    assert_eq!(other_delta["version"], 1);

    let (status, other_sku) = app
        .push_change(STORE_1, "ELEC-TV-008", &single(id, -3, None))
        .await;
    assert_refused(
        status,
        &other_sku,
        StatusCode::CONFLICT,
        "operation_id_reused",
    );
    let mut as_damage = single(id, -3, None);
    as_damage["kind"] = serde_json::json!("damage");
    let (status, other_kind) = app.push_change(STORE_1, CAMERA, &as_damage).await;
    assert_refused(
        status,
        &other_kind,
        StatusCode::CONFLICT,
        "operation_id_reused",
    );
    assert_eq!(app.event_count().await, POPULATE_EVENTS + 1);
    app.cleanup().await;
}

#[tokio::test]
async fn a_change_to_an_unknown_sku_is_sku_not_found() {
    let app = spawn_app().await;

    let (status, body) = app
        .push_change(STORE_1, "NOT-IN-CATALOGUE", &single(op(), 1, None))
        .await;

    assert_refused(status, &body, StatusCode::NOT_FOUND, "sku_not_found");
    app.cleanup().await;
}

#[tokio::test]
async fn a_batch_answers_every_change_in_order() {
    let app = spawn_app().await;
    let (applied, conflict, ahead, short, unknown) = (op(), op(), op(), op(), op());

    let (status, body) = app
        .push_batch(
            STORE_1,
            vec![
                change(applied, CAMERA, -1, Some(0)),
                change(conflict, CAMERA, -1, Some(0)),
                change(ahead, "ELEC-TV-008", -1, Some(3)),
                change(short, "ELEC-TV-008", -100, None),
                change(unknown, "NOPE-1", 1, None),
                change(applied, CAMERA, -1, Some(0)),
            ],
        )
        .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    let outcomes: Vec<(&str, bool)> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["outcome"].as_str().expect("outcome"),
                r["replayed"] == true,
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("applied", false),
            ("version_conflict", false),
            ("version_ahead", false),
            ("insufficient_stock", false),
            ("sku_not_found", false),
            ("applied", true),
        ]
    );
    assert_eq!(body["results"][0]["operation_id"], applied.to_string());
    assert_eq!(body["results"][4]["version"], serde_json::Value::Null);
    app.cleanup().await;
}

#[tokio::test]
async fn a_cas_change_after_a_refused_one_is_refused_even_when_head_office_reached_its_version() {
    let app = spawn_app().await;
    // Head office takes version 1 first.
    let (status, _) = app.adjust(STORE_1, CAMERA, &json!({ "delta": -2 })).await;
    assert_eq!(status, StatusCode::OK);
    // The store made c1 at version 0 and another change on top of it,
    // expecting 1.
    let c1 = op();
    let push_c1_and = |on_top: Uuid| {
        let changes = vec![
            change(c1, CAMERA, -1, Some(0)),
            change(on_top, CAMERA, -1, Some(1)),
        ];
        app.push_batch(STORE_1, changes)
    };

    let (_, body) = push_c1_and(op()).await;

    assert_eq!(body["results"][0]["outcome"], "version_conflict", "{body}");
    assert_eq!(body["results"][1]["outcome"], "version_conflict", "{body}");
    let (_, item) = app.item(STORE_1, CAMERA).await;
    assert_eq!(item["version"], 1);
    assert_eq!(item["quantity"], CAMERA_QUANTITY - 2);

    // The same holds when the refusal is a replay from an earlier push.
    let (_, body) = push_c1_and(op()).await;
    assert_eq!(body["results"][0]["replayed"], true, "{body}");
    assert_eq!(body["results"][1]["outcome"], "version_conflict", "{body}");
    app.cleanup().await;
}

#[tokio::test]
async fn a_store_may_push_its_own_changes() {
    let app = spawn_app().await;
    let own_batch = json!({ "store_id": STORE_1, "changes": [change(op(), CAMERA, 1, None)] });

    let (status, body) = app
        .post_as(TestClient::Store1, "/v1/sync/batch", &own_batch)
        .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"][0]["outcome"], "applied");
    app.cleanup().await;
}
