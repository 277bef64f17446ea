//! Movement reports: an SKU's applied changes totalled by kind, per store
//! or chain-wide, over a window, from the log.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{CAMERA, STORE_1, STORE_2, TestClient, assert_refused, change, op, spawn_app};

fn typed(kind: &str, delta: i64) -> Value {
    let mut change = change(op(), CAMERA, delta, None);
    change["kind"] = json!(kind);
    change
}

#[tokio::test]
async fn movements_are_totalled_by_kind_per_store_and_across_the_chain() {
    let app = spawn_app().await;
    let store_1 = vec![typed("sale", -2), typed("receipt", 5), typed("sale", -1)];
    assert_eq!(app.push_batch(STORE_1, store_1).await.0, StatusCode::OK);
    assert_eq!(
        app.push_batch(STORE_2, vec![typed("damage", -1)]).await.0,
        StatusCode::OK
    );
    let (status, body) = app.adjust(STORE_1, CAMERA, &json!({ "delta": 3 })).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let path = format!("/v1/inventory/{CAMERA}/movements?store_id={STORE_1}");
    let (status, report) = app.get_as(TestClient::Admin, &path).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report["movements"],
        json!([
            { "kind": "sale", "units": -3, "changes": 2 },
            { "kind": "receipt", "units": 5, "changes": 1 },
            { "kind": "adjustment", "units": 3, "changes": 1 },
        ])
    );
    assert_eq!(report["net_units"], 5);

    let chain = format!("/v1/inventory/{CAMERA}/movements");
    let (_, report) = app.get_as(TestClient::Admin, &chain).await;
    assert_eq!(report["store_id"], Value::Null);
    assert_eq!(report["net_units"], 4, "{report}");

    let before = format!("{path}&to=2020-01-01T00:00:00Z");
    let (_, report) = app.get_as(TestClient::Admin, &before).await;
    assert_eq!(
        report["movements"],
        json!([]),
        "nothing happened before 2020"
    );
    let inverted = format!("{path}&from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z");
    let (status, report) = app.get_as(TestClient::Admin, &inverted).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an inverted window is empty, not an error"
    );
    assert_eq!(report["movements"], json!([]));

    // A store sees its own store's movements, not another's or the chain's.
    let (status, _) = app.get_as(TestClient::Store1, &path).await;
    assert_eq!(status, StatusCode::OK);
    let other = format!("/v1/inventory/{CAMERA}/movements?store_id={STORE_2}");
    for path in [other, chain] {
        let (status, body) = app.get_as(TestClient::Store1, &path).await;
        assert_refused(status, &body, StatusCode::FORBIDDEN, "forbidden");
    }
    app.cleanup().await;
}
