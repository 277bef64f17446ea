//! Races: many pushes of one operation, many compare-and-set writers on one
//! stream. Idempotency and versions must hold in the database.

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::StatusCode;
use tokio::sync::Barrier;

use crate::helpers::{CAMERA, CAMERA_QUANTITY, POPULATE_EVENTS, STORE_1, op, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_pushes_of_one_operation_apply_it_once() {
    let app = Arc::new(spawn_app().await);
    app.token(crate::helpers::TestClient::Worker).await;
    let id = op();
    let start = Arc::new(Barrier::new(64));

    let pushes: Vec<_> = (0..64)
        .map(|_| {
            let (app, start) = (app.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                app.push_camera_change(id, -1, Some(0)).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for push in pushes {
        answers.push(push.await.expect("push task"));
    }

    assert!(
        answers.iter().all(|(status, _)| *status == StatusCode::OK),
        "{answers:?}"
    );
    let replays = answers
        .iter()
        .filter(|(_, body)| body["replayed"] == true)
        .count();
    assert_eq!(replays, 63);
    assert!(
        answers
            .iter()
            .all(|(_, body)| body["version"] == 1 && body["quantity"] == CAMERA_QUANTITY - 1)
    );
    assert_eq!(app.event_count().await, POPULATE_EVENTS + 1);
    let app = Arc::into_inner(app).expect("no other owners");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_compare_and_set_writers_win_one_version_each_round() {
    const WRITERS: usize = 16;
    const ROUNDS: usize = 4;
    let app = Arc::new(spawn_app().await);
    app.token(crate::helpers::TestClient::Worker).await;
    let barrier = Arc::new(Barrier::new(WRITERS));

    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (app, barrier) = (app.clone(), barrier.clone());
            tokio::spawn(async move {
                let mut results = Vec::new();
                for _ in 0..ROUNDS {
                    let (_, item) = app.item(STORE_1, CAMERA).await;
                    let expected = item["version"].as_i64().expect("version");
                    // Everyone has read the same version before anyone writes.
                    barrier.wait().await;
                    let delta = i64::try_from(writer % 3 + 1).expect("small");
                    let (status, body) = app.push_camera_change(op(), delta, Some(expected)).await;
                    results.push((status, body, delta));
                    barrier.wait().await;
                }
                results
            })
        })
        .collect();
    let mut results = Vec::new();
    for writer in writers {
        results.extend(writer.await.expect("writer task"));
    }

    let mut winners: BTreeMap<i64, usize> = BTreeMap::new();
    let mut applied_sum = 0;
    for (status, body, delta) in &results {
        match *status {
            StatusCode::OK => {
                *winners
                    .entry(body["version"].as_i64().expect("version"))
                    .or_default() += 1;
                applied_sum += delta;
            }
            StatusCode::CONFLICT => assert_eq!(body["code"], "version_conflict", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let expected_versions: BTreeMap<i64, usize> = (1..=ROUNDS as i64).map(|v| (v, 1)).collect();
    assert_eq!(
        winners, expected_versions,
        "exactly one winner per version, no gaps"
    );
    let (_, item) = app.item(STORE_1, CAMERA).await;
    assert_eq!(item["version"], ROUNDS as i64);
    assert_eq!(item["quantity"], CAMERA_QUANTITY + applied_sum);
    let sequences: Vec<i64> = sqlx::query_scalar(
        "SELECT sequence FROM events WHERE store_id = $1 AND sku = $2 ORDER BY sequence",
    )
    .bind(STORE_1)
    .bind(CAMERA)
    .fetch_all(&app.pool)
    .await
    .expect("stream events");
    assert_eq!(sequences, (1..=ROUNDS as i64 + 1).collect::<Vec<_>>());
    let app = Arc::into_inner(app).expect("no other owners");
    app.cleanup().await;
}
