//! `kill -9` in the middle of a load: no acknowledged update is lost and the
//! projections equal a rebuild from the log.

use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::helpers::{CLIENT_SECRET, LAPTOP, POS, TestDatabase};

const BINARY: &str = env!("CARGO_BIN_EXE_store-app");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The store's signing key for `db`'s store, made on first use.
fn key_file(db: &TestDatabase) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{}-store-key.pem", db.name));
    if !path.exists() {
        service_infra::auth::issuing::signing::generate(&path, false).expect("store key");
    }
    path
}

pub fn store_command(db: &TestDatabase, args: &[&str], port: u16) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("STORE_JWT_PRIVATE_KEY_FILE", key_file(db))
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2f")
        .env("CENTRAL_URL", "http://127.0.0.1:1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Runs `store-app {args}` to its end.
async fn run_store(db: &TestDatabase, args: &[&str], port: u16) -> ExitStatus {
    let run = store_command(db, args, port).status().await;
    run.expect("run store-app")
}

/// Starts `store-app serve` with a `pos` client; returns the process and a
/// token the store issued to that client.
async fn start_store(db: &TestDatabase, port: u16) -> (Child, String) {
    let pos = [
        "clients",
        "create",
        "--id",
        POS,
        "--role",
        "pos",
        "--secret",
        CLIENT_SECRET,
    ];
    assert!(run_store(db, &pos, port).await.success(), "clients create");
    let child = store_command(db, &["serve"], port)
        .spawn()
        .expect("spawn store-app");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("http://127.0.0.1:{port}/health/live"))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "store-app did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", POS),
        ("client_secret", CLIENT_SECRET),
    ];
    let answer: serde_json::Value = client
        .post(format!("http://127.0.0.1:{port}/auth/token"))
        .form(&form)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("token")
        .json()
        .await
        .expect("token json");
    let token = answer["access_token"].as_str().expect("access_token");
    (child, token.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sigkill_mid_load_loses_no_acknowledged_update() {
    let db = TestDatabase::create().await;
    let port = free_port();
    let (mut store, token) = start_store(&db, port).await;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let client = reqwest::Client::new();

    let load: Vec<_> = (0..16)
        .map(|i| {
            let (client, acknowledged) = (client.clone(), Arc::clone(&acknowledged));
            let token = token.clone();
            let sku = if i % 2 == 0 { LAPTOP } else { "ELEC-HEAD-005" };
            tokio::spawn(async move {
                loop {
                    let id = Uuid::new_v4();
                    let sent = client
                        .post(format!(
                            "http://127.0.0.1:{port}/v1/local/inventory/{sku}/update"
                        ))
                        .bearer_auth(&token)
                        .json(&json!({ "delta": 1, "operation_id": id }))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == 201 => {
                            acknowledged.lock().await.push(id)
                        }
                        Ok(response) => panic!("unexpected status {}", response.status()),
                        Err(_) => return, // the server is gone
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    store.start_kill().expect("SIGKILL");
    store.wait().await.expect("reaped");
    for task in load {
        task.await.expect("load task");
    }
    let _restarted = start_store(&db, port).await;

    let verify = run_store(&db, &["rebuild-projections", "--verify"], port).await;
    assert!(
        verify.success(),
        "projections differ from the log after the crash"
    );
    let acknowledged = acknowledged.lock().await.clone();
    assert!(
        acknowledged.len() > 50,
        "the load ran ({} updates)",
        acknowledged.len()
    );
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE event_type = 'StockAdjusted'
            AND (payload->'StockAdjusted'->>'operation_id')::uuid = ANY($1)",
    )
    .bind(&acknowledged)
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(
        logged,
        acknowledged.len() as i64,
        "every acknowledged update is in the log"
    );
}

#[tokio::test]
async fn rebuild_recreates_projections_equal_to_the_live_ones() {
    let db = TestDatabase::create().await;
    let port = free_port();
    let (_store, token) = start_store(&db, port).await;
    let client = reqwest::Client::new();
    for delta in [-3, 4, -1] {
        client
            .post(format!(
                "http://127.0.0.1:{port}/v1/local/inventory/{LAPTOP}/update"
            ))
            .bearer_auth(&token)
            .json(&json!({ "delta": delta }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("update");
    }
    sqlx::query("UPDATE stock SET quantity = 999 WHERE sku = $1")
        .bind(LAPTOP)
        .execute(&db.pool)
        .await
        .expect("corrupt projection");

    let broken = run_store(&db, &["rebuild-projections", "--verify"], port).await;
    let rebuilt = run_store(&db, &["rebuild-projections"], port).await;
    let clean = run_store(&db, &["rebuild-projections", "--verify"], port).await;

    assert!(!broken.success(), "verify must notice the corrupted row");
    assert!(rebuilt.success() && clean.success());
    let quantity: i64 = sqlx::query_scalar("SELECT quantity FROM stock WHERE sku = $1")
        .bind(LAPTOP)
        .fetch_one(&db.pool)
        .await
        .expect("quantity");
    assert_eq!(quantity, 50);
}
