//! The operators' status page, `GET /status`: its figures after a known
//! history, read as HTML with reqwest and as the DOM headless Chromium
//! renders (with a screenshot in the target directory).
//!
//! The Chromium test needs Debian's `chromium` (`/usr/bin/chromium`);
//! `scripts/test.sh` installs it when missing. Without it the test fails.

use std::path::{Path, PathBuf};
use std::time::Duration;

use central_app::http::status::LOW_STOCK_UNITS;
use chrono::{SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{CAMERA, STORE_1, STORE_2, TestApp, op, spawn_app};

const CHROMIUM: &str = "/usr/bin/chromium";
/// Brought to 3 units at STORE-001 by a head-office change.
const TV: &str = "ELEC-TV-008";
const LAPTOP: &str = "ELEC-LAPTOP-001";

/// The operation ids of [`known_history`].
struct History {
    version_conflict: Uuid,
    insufficient_stock: Uuid,
}

/// A store change `minutes_ago` old, as the worker pushes it.
fn change_made(id: Uuid, sku: &str, delta: i64, expected: Option<i64>, minutes_ago: i64) -> Value {
    let occurred_at = Utc::now() - chrono::Duration::minutes(minutes_ago);
    json!({
        "operation_id": id, "sku": sku, "delta": delta, "expected_version": expected,
        "occurred_at": occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

/// Two store changes applied (made 10 and 20 minutes before they reach
/// central), one refused with `version_conflict`, one with
/// `insufficient_stock`, and a head-office change that leaves 3 TVs at
/// STORE-001.
async fn known_history(app: &TestApp) -> History {
    let (conflict, short) = (op(), op());
    let (status, body) = app
        .push_batch(
            STORE_1,
            vec![
                change_made(op(), CAMERA, -1, Some(0), 10),
                change_made(conflict, CAMERA, -1, Some(0), 10),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"][0]["outcome"], "applied", "{body}");
    assert_eq!(body["results"][1]["outcome"], "version_conflict", "{body}");
    let (status, body) = app
        .push_batch(
            STORE_2,
            vec![
                change_made(op(), LAPTOP, -2, None, 20),
                change_made(short, TV, -1000, None, 20),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"][0]["outcome"], "applied", "{body}");
    assert_eq!(
        body["results"][1]["outcome"], "insufficient_stock",
        "{body}"
    );
    let (status, body) = app.adjust(STORE_1, TV, &json!({ "delta": -12 })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["quantity"], 3);
    History {
        version_conflict: conflict,
        insufficient_stock: short,
    }
}

/// The text of the element with `id` (no nested tags), e.g. `15.0 min`.
fn text_of<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no element with id {id} in:\n{html}"));
    let rest = &html[start + id.len() + 6..];
    &rest[..rest.find('<').expect("closing tag")]
}

/// The row of `html` whose start tag holds `marker`.
fn row<'a>(html: &'a str, marker: &str) -> &'a str {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no row {marker} in:\n{html}"));
    let rest = &html[start..];
    &rest[..rest.find("</tr>").expect("end of row")]
}

/// What the page must show after [`known_history`], in reqwest's HTML or
/// in Chromium's DOM alike.
fn assert_known_figures(html: &str, history: &History) {
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
    for store in [STORE_1, STORE_2] {
        let store_row = row(html, &format!("<tr data-store=\"{store}\">"));
        assert!(store_row.contains("<time"), "{store_row}");
        assert!(store_row.contains("not visible to central"), "{store_row}");
    }
    let head_office = |store: &str| {
        row(html, &format!("<tr data-store=\"{store}\">"))
            .matches("<time")
            .count()
    };
    assert_eq!(head_office(STORE_1), 2, "store and head-office changes");
    assert_eq!(head_office(STORE_2), 1, "no head-office change");
    assert!(html.contains("store_pending_changes"));
    assert!(html.contains("store_oldest_pending_age_seconds"));

    assert_eq!(text_of(html, "propagation-count"), "2");
    let minutes = |id| {
        let text = text_of(html, id);
        text.strip_suffix(" min")
            .and_then(|m| m.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{id} is not in minutes: {text}"))
    };
    let (p50, p99) = (minutes("p50"), minutes("p99"));
    assert!(
        (15.0..15.5).contains(&p50),
        "p50 of 10 and 20 minutes: {p50}"
    );
    assert!(
        (19.8..20.5).contains(&p99),
        "p99 of 10 and 20 minutes: {p99}"
    );

    for (id, outcome) in [
        (history.version_conflict, "version_conflict"),
        (history.insufficient_stock, "insufficient_stock"),
    ] {
        let refusal = row(html, &id.to_string());
        assert!(refusal.contains(outcome), "{refusal}");
    }
    assert_eq!(
        text_of(html, "low-stock-threshold"),
        format!("{LOW_STOCK_UNITS} units")
    );
    let tv = row(html, &format!("<tr data-sku=\"{TV}\">"));
    assert!(
        tv.contains(&format!(
            "<td class=\"num low\" data-store=\"{STORE_1}\">3<span class=\"tag\">low</span></td>"
        )),
        "{tv}"
    );
    assert!(
        tv.contains(&format!(
            "<td class=\"num\" data-store=\"{STORE_2}\">15</td>"
        )),
        "{tv}"
    );
    assert!(tv.contains("<td class=\"num\">18</td>"), "total: {tv}");
    assert_eq!(html.matches("class=\"num low\"").count(), 1, "one low cell");
}

#[tokio::test]
async fn the_status_page_shows_syncs_propagation_refusals_and_low_stock() {
    let app = spawn_app().await;
    let history = known_history(&app).await;

    let response = app.get(None, "/status").await;

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert_eq!(content_type, "text/html; charset=utf-8");
    let html = response.text().await.expect("body");
    assert_known_figures(&html, &history);
    assert!(
        html.contains("LG OLED C2 65&quot;"),
        "names are escaped: {html}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_status_page_says_when_no_store_change_arrived_lately() {
    let app = spawn_app().await;
    app.adjust(STORE_1, CAMERA, &json!({ "delta": -1 })).await;

    let html = app.get(None, "/status").await.text().await.expect("body");

    assert!(
        html.contains("no store changes in the last 5 minutes"),
        "{html}"
    );
    assert!(html.contains("No operation refused."), "{html}");
    app.cleanup().await;
}

#[tokio::test]
async fn headless_chromium_renders_the_status_page() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/test.sh (it installs Debian's chromium) \
         or `apt-get install chromium`"
    );
    let app = spawn_app().await;
    let history = known_history(&app).await;
    let url = app.url("/status");

    let dom = chromium(&["--dump-dom".to_owned(), url.clone()]).await;
    let dom = String::from_utf8(dom.stdout).expect("the DOM is UTF-8");
    assert!(dom.contains("<h1>Central status</h1>"), "{dom}");
    assert_known_figures(&dom, &history);

    let screenshot = target_dir().join("status-page.png");
    let _ = std::fs::remove_file(&screenshot);
    chromium(&[
        format!("--screenshot={}", screenshot.display()),
        "--window-size=1280,1600".to_owned(),
        url,
    ])
    .await;
    let png = std::fs::read(&screenshot).expect("the screenshot was written");
    assert!(
        png.starts_with(b"\x89PNG"),
        "{} is a PNG",
        screenshot.display()
    );
    assert!(png.len() > 10_000, "{} is not blank", screenshot.display());
    app.cleanup().await;
}

/// Runs headless Chromium on a fresh profile; fails on a non-zero exit.
/// Host names other than 127.0.0.1 resolve to nothing, so the browser
/// cannot reach beyond this machine.
async fn chromium(args: &[String]) -> std::process::Output {
    let profile = std::env::temp_dir().join(format!("status-chromium-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&profile).expect("create the Chromium profile");
    let run = tokio::process::Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .env("HOME", &profile)
        .env("XDG_CONFIG_HOME", &profile)
        .env("XDG_CACHE_HOME", &profile)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("chromium finished within 120 s")
        .expect("start chromium");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "chromium {args:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, else the workspace's.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}
