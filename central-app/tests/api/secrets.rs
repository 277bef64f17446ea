//! Secrets never reach the logs: the binary's output is read during a
//! `clients create` with a known secret and during token requests.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::helpers::{Credentials, request_token, spawn_app};

const KNOWN_SECRET: &str = "never-log-me-7f3a9c1e5b";

#[tokio::test]
async fn client_secrets_never_appear_in_the_logs() {
    let app = spawn_app().await;
    let created = app
        .create_client("log-probe", "admin", &["--secret", KNOWN_SECRET])
        .await;
    let create_output = format!(
        "{}{}",
        String::from_utf8_lossy(&created.stdout),
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(
        created.status.success(),
        "clients create failed: {create_output}"
    );

    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_central-app"))
        .arg("serve")
        .env("DATABASE_URL", &app.database_url)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("JWT_PRIVATE_KEY_FILE", &app.key_file)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start central-app serve");
    let mut stdout = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let mut logs = String::new();
    let address = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = stdout.next_line().await.expect("read log") {
            logs.push_str(&line);
            logs.push('\n');
            if let Ok(entry) = serde_json::from_str::<Value>(&line)
                && entry["message"] == "listening"
            {
                return entry["addr"].as_str().expect("addr").to_owned();
            }
        }
        panic!("server exited before listening: {logs}");
    })
    .await
    .expect("server listens within 30 s");

    let url = format!("http://{address}/auth/token");
    let token = |how, id| request_token(&app.http, &url, how, id, KNOWN_SECRET);
    let form = token(Credentials::Form, "log-probe").await;
    let basic = token(Credentials::Basic, "log-probe").await;
    let wrong_client = token(Credentials::Json, "nobody").await;
    assert_eq!(form.status(), StatusCode::OK);
    assert_eq!(basic.status(), StatusCode::OK);
    assert_eq!(wrong_client.status(), StatusCode::UNAUTHORIZED);

    server.start_kill().expect("stop server");
    while let Some(line) = stdout.next_line().await.expect("read log") {
        logs.push_str(&line);
        logs.push('\n');
    }
    let mut stderr = String::new();
    server
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .await
        .expect("read stderr");
    server.wait().await.expect("server exit");

    assert!(
        logs.contains("token issued"),
        "the run logged nothing useful: {logs}"
    );
    for output in [&create_output, &logs, &stderr] {
        assert!(!output.contains(KNOWN_SECRET), "secret leaked: {output}");
    }
    app.cleanup().await;
}
