//! Health, documentation and metrics endpoints.

use reqwest::StatusCode;

use crate::helpers::{CAMERA, Credentials, STORE_1, change, json_body, op, spawn_app};

#[tokio::test]
async fn live_and_ready_report_ok_with_the_database_up() {
    let app = spawn_app().await;
    let (live, _) = json_body(app.get(None, "/health/live").await).await;
    let (ready, body) = json_body(app.get(None, "/health/ready").await).await;
    assert_eq!(live, StatusCode::OK);
    assert_eq!(ready, StatusCode::OK);
    assert_eq!(body["checks"]["database"]["ok"], true);
    app.cleanup().await;
}

#[tokio::test]
async fn the_openapi_document_has_the_bearer_scheme_and_every_path() {
    let app = spawn_app().await;
    let (status, doc) = json_body(app.get(None, "/openapi.json").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for path in [
        "/auth/token",
        "/.well-known/jwks.json",
        "/v1/sync/batch",
        "/v1/stores/{store_id}/inventory/{sku}/changes",
        "/v1/stores/{store_id}/inventory/{sku}/adjust",
        "/v1/stores/{store_id}/inventory/{sku}",
        "/v1/inventory/{sku}",
        "/v1/events",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    let unresolved = service_infra::app::unresolved_refs(&doc);
    assert!(
        unresolved.is_empty(),
        "references to nothing: {unresolved:?}"
    );
    let docs = app.get(None, "/docs/").await;
    assert_eq!(docs.status(), StatusCode::OK);
    app.cleanup().await;
}

#[tokio::test]
async fn metrics_count_outcomes_batches_and_tokens() {
    let app = spawn_app().await;
    let id = op();
    app.push_batch(
        STORE_1,
        vec![change(id, CAMERA, 1, None), change(id, CAMERA, 1, None)],
    )
    .await;
    app.request_token(Credentials::Json, "nobody", "nothing-at-all")
        .await;

    let metrics = app.metrics_text().await;

    for line in [
        "central_changes_total{outcome=\"applied\"} 1",
        "central_changes_total{outcome=\"replayed\"} 1",
        "central_sync_batch_size_count 1",
        "central_tokens_issued_total{role=\"sync-worker\"} 1",
        "central_token_failures_total{reason=\"invalid_client\"} 1",
        "http_requests_total{method=\"POST\",route=\"/v1/sync/batch\",status=\"200\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn ready_reports_the_database_down_with_503() {
    use central_app::config::{DatabaseSettings, Secret, ServeConfig};

    let key_file = std::env::temp_dir().join(format!("no-db-{}.pem", uuid::Uuid::new_v4()));
    service_infra::auth::issuing::signing::generate(&key_file, false).expect("key");
    let config = ServeConfig {
        database: DatabaseSettings {
            // Nothing listens on port 1.
            database_url: Secret::new("postgres://postgres@127.0.0.1:1/central"),
            database_max_connections: Some(2),
        },
        bind_addr: "127.0.0.1:0".parse().expect("address"),
        jwt_private_key_file: key_file.clone(),
        token_ttl: std::time::Duration::from_secs(60).into(),
        // No broker either: readiness depends on the database alone.
        amqp_url: Secret::new("amqp://guest:guest@127.0.0.1:1/%2f"),
        amqp_exchange: "test-unused".into(),
        events_exchange: "test-unused".into(),
        hold_expiry_interval: std::time::Duration::from_secs(1).into(),
    };
    let app = central_app::startup::build(config)
        .await
        .expect("starts without its database");
    let url = format!("http://127.0.0.1:{}/health/ready", app.port());
    let server = tokio::spawn(app.run_until_stopped(std::future::pending()));

    let (status, body) = json_body(reqwest::get(&url).await.expect("ready request")).await;

    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"]["database"]["ok"], false);
    server.abort();
    std::fs::remove_file(key_file).expect("remove key");
}
