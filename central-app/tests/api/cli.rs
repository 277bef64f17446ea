//! The binary's maintenance subcommands against a test database.

use serde_json::json;

use crate::helpers::{CAMERA, Credentials, STORE_1, STORE_2, change, op, spawn_app};

/// Drifts a stock row from the log by one unit, as a manual edit would.
const ONE_MORE_UNIT: &str =
    "UPDATE central_stock SET quantity = quantity + 1 WHERE store_id = $1 AND sku = $2";

#[tokio::test]
async fn rebuild_projections_verify_is_clean_after_a_load_and_repairs_drift() {
    let app = spawn_app().await;
    for round in 0..5 {
        let changes = (0..20)
            .map(|i| {
                change(
                    op(),
                    if i % 2 == 0 { CAMERA } else { "ELEC-TV-008" },
                    1,
                    None,
                )
            })
            .collect();
        app.push_batch(if round % 2 == 0 { STORE_1 } else { STORE_2 }, changes)
            .await;
    }
    app.adjust(STORE_2, CAMERA, &json!({ "delta": -3, "reason": "count" }))
        .await;

    let clean = app.run_cli(&["rebuild-projections", "--verify"]).await;
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert!(clean.status.success(), "verify failed: {stdout}");
    assert!(stdout.contains("projections match the log"), "{stdout}");

    sqlx::query(ONE_MORE_UNIT)
        .bind(STORE_1)
        .bind(CAMERA)
        .execute(&app.pool)
        .await
        .expect("corrupt projection");
    let drift = app.run_cli(&["rebuild-projections", "--verify"]).await;
    assert!(!drift.status.success(), "verify missed a difference");

    let rebuilt = app.run_cli(&["rebuild-projections"]).await;
    assert!(rebuilt.status.success());
    let again = app.run_cli(&["rebuild-projections", "--verify"]).await;
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    app.cleanup().await;
}

#[tokio::test]
async fn populate_is_idempotent() {
    let app = spawn_app().await;
    let before = app.event_count().await;

    let output = app
        .run_cli(&["populate", "--stores", "STORE-001,STORE-003"])
        .await;

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(
        app.event_count().await,
        before + 10,
        "only STORE-003 is new"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn clients_create_prints_a_generated_secret_that_works() {
    let app = spawn_app().await;

    let output = app
        .create_client("store-9", "store", &["--store-id", "STORE-009"])
        .await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let secret = stdout
        .lines()
        .find_map(|line| line.strip_prefix("client_secret: "))
        .expect("printed secret");
    let response = app
        .request_token(Credentials::Basic, "store-9", secret)
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let stored: String =
        sqlx::query_scalar("SELECT secret_hash FROM clients WHERE client_id = 'store-9'")
            .fetch_one(&app.pool)
            .await
            .expect("client row");
    assert!(stored.starts_with("$argon2"), "{stored}");
    app.cleanup().await;
}
