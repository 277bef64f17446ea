//! Central's log over HTTP: global order, filters and cursor paging.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    CAMERA, POPULATE_EVENTS, STORE_1, STORE_2, TestApp, TestClient, change, op, spawn_app,
};

/// Every page from the start, following `next_cursor`.
async fn read_all(app: &TestApp, filter: &str, limit: usize) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after = String::new();
    loop {
        let (status, page) = app
            .events(&format!("limit={limit}&after={after}{filter}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let batch = page["events"].as_array().expect("events").clone();
        assert!(batch.len() <= limit);
        events.extend(batch);
        match page["next_cursor"].as_str() {
            Some(next) => after = next.to_owned(),
            None => return events,
        }
    }
}

#[tokio::test]
async fn paging_with_cursors_returns_every_event_once_in_order() {
    let app = spawn_app().await;
    app.push_batch(
        STORE_1,
        vec![
            change(op(), CAMERA, 1, None),
            change(op(), CAMERA, -1, None),
        ],
    )
    .await;
    app.adjust(STORE_2, CAMERA, &json!({ "delta": 4 })).await;

    let events = read_all(&app, "", 7).await;

    assert_eq!(events.len() as i64, POPULATE_EVENTS + 3);
    let positions: Vec<i64> = events
        .iter()
        .map(|e| e["position"].as_i64().expect("position"))
        .collect();
    assert_eq!(
        positions.iter().collect::<HashSet<_>>().len(),
        positions.len()
    );
    let last = events.last().expect("events");
    assert_eq!(last["store_id"], STORE_2);
    assert_eq!(last["sequence"], 2);
    for field in [
        "cursor",
        "store_id",
        "sku",
        "event_type",
        "payload",
        "recorded_at",
    ] {
        assert!(!last[field].is_null(), "{field} missing: {last}");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn a_full_page_has_a_next_cursor_and_a_short_one_does_not() {
    let app = spawn_app().await;
    let (_, full) = app.events("limit=20").await;
    assert_eq!(full["next_cursor"], full["events"][19]["cursor"]);
    let (_, rest) = app
        .events(&format!(
            "after={}",
            full["next_cursor"].as_str().expect("cursor")
        ))
        .await;
    assert_eq!(rest["events"], json!([]));
    assert_eq!(rest["next_cursor"], Value::Null);
    app.cleanup().await;
}

#[tokio::test]
async fn events_can_be_filtered_by_store_and_sku() {
    let app = spawn_app().await;
    app.adjust(STORE_2, CAMERA, &json!({ "delta": 4 })).await;

    let store_events = read_all(&app, &format!("&store_id={STORE_2}"), 4).await;
    let sku_events = read_all(&app, &format!("&store_id={STORE_2}&sku={CAMERA}"), 100).await;

    assert_eq!(store_events.len(), 11);
    assert!(store_events.iter().all(|e| e["store_id"] == STORE_2));
    assert_eq!(sku_events.len(), 2);
    assert_eq!(sku_events[1]["payload"]["ChangeApplied"]["quantity"], 29);
    app.cleanup().await;
}

#[tokio::test]
async fn a_store_reads_its_own_events() {
    let app = spawn_app().await;
    app.wait_for_log_horizon().await;
    let (status, page) = app
        .get_as(
            TestClient::Store1,
            &format!("/v1/events?store_id={STORE_1}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["events"].as_array().map(Vec::len), Some(10));
    app.cleanup().await;
}
