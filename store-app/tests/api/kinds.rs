//! Typed changes: a kind on every update, its sign checked, in the event,
//! the answer and the metrics.

use serde_json::{Value, json};

use crate::helpers::{LAPTOP, spawn_app};

#[tokio::test]
async fn a_sign_that_does_not_fit_the_kind_is_422_and_writes_nothing() {
    let app = spawn_app().await;
    let before = app.db.event_count().await;

    for (kind, delta) in [("sale", 2), ("damage", 1), ("receipt", -3), ("return", -1)] {
        let response = app
            .post_update(LAPTOP, json!({ "kind": kind, "delta": delta }))
            .await;
        assert_eq!(response.status(), 422, "{kind} {delta}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["code"], "validation_failed", "{body}");
        assert_eq!(body["details"]["field"], "delta", "{body}");
    }
    // Counts and transfers have their own operations, not a plain update.
    for kind in ["count", "transfer_out", "transfer_in", "theft"] {
        let response = app
            .post_update(LAPTOP, json!({ "kind": kind, "delta": -1 }))
            .await;
        assert_eq!(response.status(), 422, "{kind}");
    }
    assert_eq!(app.db.event_count().await, before);
}

#[tokio::test]
async fn each_kind_is_recorded_answered_logged_and_counted() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for (kind, delta) in [("sale", -2), ("return", 1), ("receipt", 10), ("damage", -1)] {
        let answer = app
            .post_update_json(LAPTOP, json!({ "kind": kind, "delta": delta }))
            .await;
        assert_eq!(answer["kind"], kind, "{answer}");
        ids.push((kind, answer["operation_id"].clone()));
    }
    let plain = app.post_update_json(LAPTOP, json!({ "delta": 1 })).await;
    assert_eq!(
        plain["kind"], "adjustment",
        "a change without a kind is an adjustment"
    );
    assert_eq!(plain["quantity"], 50 - 2 + 1 + 10 - 1 + 1);

    let log = app
        .get_json(&format!("/v1/local/events?sku={LAPTOP}"))
        .await;
    for (kind, id) in ids {
        let logged = log["events"]
            .as_array()
            .expect("events")
            .iter()
            .find(|event| event["payload"]["StockAdjusted"]["operation_id"] == id)
            .unwrap_or_else(|| panic!("no event for {id}"));
        assert_eq!(logged["payload"]["StockAdjusted"]["kind"], kind);
    }
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    for line in [
        r#"store_changes_by_kind_total{kind="sale"} 1"#,
        r#"store_changes_by_kind_total{kind="receipt"} 1"#,
        r#"store_changes_by_kind_total{kind="adjustment"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} missing from {metrics}");
    }
}

#[tokio::test]
async fn an_operation_id_repeated_with_another_kind_is_a_reuse() {
    let app = spawn_app().await;
    let id = uuid::Uuid::now_v7();
    let sale = json!({ "kind": "sale", "delta": -2, "operation_id": id });
    assert_eq!(app.post_update(LAPTOP, sale.clone()).await.status(), 201);
    assert_eq!(
        app.post_update(LAPTOP, sale).await.status(),
        201,
        "a replay"
    );

    let damage = json!({ "kind": "damage", "delta": -2, "operation_id": id });
    let refused = app.post_update(LAPTOP, damage).await;
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["code"], "operation_id_reused");
}
