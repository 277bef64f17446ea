//! Docs, metrics and health.

use serde_json::{Value, json};

use crate::helpers::{LAPTOP, spawn_app};

#[tokio::test]
async fn openapi_describes_every_path_and_swagger_ui_is_served() {
    let app = spawn_app().await;

    let spec = app.get_json("/openapi.json").await;
    let docs = app.get("/docs/").await;

    for path in [
        "/v1/local/inventory/{sku}/update",
        "/v1/local/inventory/{sku}",
        "/v1/local/inventory",
        "/v1/local/inventory/{sku}/operation_id",
        "/v1/local/sync/status/{operation_id}",
        "/v1/local/sync/trigger",
        "/v1/local/changes",
        "/v1/local/changes/{operation_id}/reapply",
        "/v1/local/changes/{operation_id}/retry",
        "/v1/sync/quarantine",
        "/v1/local/events",
        "/v1/sync/pending",
        "/v1/sync/outcomes",
    ] {
        assert!(
            spec["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.expect("html").contains("swagger"));

    let unresolved = service_infra::app::unresolved_refs(&spec);
    assert!(
        unresolved.is_empty(),
        "references to nothing: {unresolved:?}"
    );

    // Swagger UI's Authorize: the bearer scheme, the store's own token
    // endpoint, and every local operation asking for the token.
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(spec["paths"]["/auth/token"]["post"].is_object());
    assert!(spec["paths"]["/.well-known/jwks.json"]["get"].is_object());
    let paths = spec["paths"].as_object().expect("paths");
    for (path, operations) in paths
        .iter()
        .filter(|(path, _)| path.starts_with("/v1/local"))
    {
        for (method, operation) in operations.as_object().expect("operations") {
            assert_eq!(
                operation["security"][0]["bearer"],
                serde_json::json!([]),
                "{method} {path} does not ask for the bearer token"
            );
        }
    }
}

#[tokio::test]
async fn metrics_count_changes_by_result() {
    let app = spawn_app().await;
    app.post_update(LAPTOP, json!({ "delta": 1 })).await;
    app.post_update(LAPTOP, json!({ "delta": 0 })).await;

    let text = app.get("/metrics").await.text().await.expect("text");

    assert!(
        text.contains("store_changes_total{result=\"accepted\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("store_changes_total{result=\"validation_failed\"} 1"),
        "{text}"
    );
    assert!(text.contains("http_requests_total"));
    assert!(text.contains("store_pending_changes"));
    // The accepted update was written by one group commit of one change.
    assert!(
        text.contains("store_group_commit_changes_count 1"),
        "{text}"
    );
    assert!(
        text.contains("store_group_commit_changes_bucket{le=\"1\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn ready_needs_the_database_and_reports_the_rest() {
    let app = spawn_app().await;

    let live = app.get("/health/live").await;
    let ready = app.get("/health/ready").await;

    assert_eq!(live.status(), 200);
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["checks"]["database"]["ok"], true);
    assert_eq!(body["checks"]["central"]["ok"], true);
    assert!(body["checks"]["broker"].is_object());
    assert_eq!(body["checks"]["local_auth"]["ok"], true);
}
