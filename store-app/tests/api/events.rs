//! The event log API: global order, cursor paging, per-SKU filter.

use serde_json::{Value, json};

use crate::helpers::{LAPTOP, spawn_app};

#[tokio::test]
async fn the_log_pages_in_order_and_filters_by_sku() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.post_update(LAPTOP, json!({ "delta": 1 })).await;
    }
    app.post_update("ELEC-PHONE-002", json!({ "delta": 1 }))
        .await;

    // Events become readable once every older transaction on the server has
    // ended; other tests share the server, so wait for that.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.get_json("/v1/local/events?limit=1000").await["events"]
        .as_array()
        .map(Vec::len)
        != Some(14)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "events never became readable"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut positions = Vec::new();
    let mut after = String::new();
    loop {
        let page = app
            .get_json(&format!("/v1/local/events?limit=5{after}"))
            .await;
        for event in page["events"].as_array().expect("events") {
            positions.push(event["position"].as_i64().expect("position"));
            assert!(event["recorded_at"].is_string() && event["event_type"].is_string());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => after = format!("&after={cursor}"),
            None => break,
        }
    }
    let laptop = app
        .get_json(&format!("/v1/local/events?sku={LAPTOP}"))
        .await;

    assert_eq!(positions.len(), 14, "10 registrations and 4 adjustments");
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    let events = laptop["events"].as_array().expect("events");
    let sequences: Vec<i64> = events
        .iter()
        .map(|e| e["sequence"].as_i64().expect("seq"))
        .collect();
    assert_eq!(sequences, vec![1, 2, 3, 4]);
    assert!(events.iter().all(|e| e["sku"] == LAPTOP));
    assert_eq!(
        events[1]["payload"]["StockAdjusted"]["quantity"],
        Value::from(51)
    );
}
