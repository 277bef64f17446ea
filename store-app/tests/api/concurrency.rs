//! Many clients on one hot SKU, on many SKUs, or two processes on one
//! store: no errors, no lost or duplicated updates, and a refused change in
//! a group commit leaves the others.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::helpers::{LAPTOP, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_clients_on_one_sku_lose_nothing() {
    let app = Arc::new(spawn_app().await);
    let initial = app.stock(LAPTOP).await["quantity"]
        .as_i64()
        .expect("quantity");

    let clients = (0..32).map(|client| {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let mut accepted = Vec::new();
            for i in 0..100 {
                let delta = if (client + i) % 3 == 0 { -2 } else { 1 };
                let response = app.post_update(LAPTOP, json!({ "delta": delta })).await;
                let status = response.status().as_u16();
                assert!(status < 500, "server error {status}");
                if status == 201 {
                    accepted.push(delta);
                } else {
                    let body: Value = response.json().await.expect("json");
                    assert_eq!(body["code"], "insufficient_stock", "{body}");
                }
            }
            accepted
        })
    });
    let accepted: Vec<i64> = futures_util::future::join_all(clients)
        .await
        .into_iter()
        .flat_map(|r| r.expect("client task"))
        .collect();

    let stock = app.stock(LAPTOP).await;
    assert_eq!(
        stock["quantity"].as_i64(),
        Some(initial + accepted.iter().sum::<i64>())
    );
    let versions: Vec<i64> = sqlx::query_scalar(
        "SELECT (payload->'StockAdjusted'->>'version')::bigint FROM events
          WHERE aggregate_id = $1 AND event_type = 'StockAdjusted' ORDER BY sequence",
    )
    .bind(LAPTOP)
    .fetch_all(&app.db.pool)
    .await
    .expect("versions");
    assert_eq!(
        versions.len(),
        accepted.len(),
        "one event per accepted update"
    );
    assert_eq!(
        versions,
        (1..=accepted.len() as i64).collect::<Vec<_>>(),
        "versions without gaps"
    );
}

/// An unconditional change of `delta` units: a receipt, or a sale.
pub fn change(sku: &str, delta: i64) -> store_app::ledger::ChangeRequest {
    let delta = domain::Delta::try_from(delta).expect("delta");
    store_app::ledger::ChangeRequest {
        sku: sku.parse().expect("sku"),
        operation_id: domain::OperationId::new_v7(),
        kind: if delta.get() < 0 {
            domain::ChangeKind::Sale
        } else {
            domain::ChangeKind::Receipt
        },
        delta,
        expected_version: None,
        note: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_sku_lose_nothing() {
    // Two ledgers on one database queue in their own stripes, as two store
    // processes would: each one's group commits find the stream moved by
    // the other and decide again.
    let db = crate::helpers::TestDatabase::create().await;
    let ledgers = [
        store_app::ledger::Ledger::new(db.pool.clone()),
        store_app::ledger::Ledger::new(db.pool.clone()),
    ];
    let writers = (0..16).map(|writer| {
        let ledger = ledgers[writer % 2].clone();
        tokio::spawn(async move {
            let mut versions = Vec::new();
            for _ in 0..25 {
                let accepted = ledger.change(&change(LAPTOP, 1)).await.expect("accepted");
                versions.push(accepted.version);
            }
            versions
        })
    });
    let mut versions: Vec<i64> = futures_util::future::join_all(writers)
        .await
        .into_iter()
        .flat_map(|r| r.expect("writer task"))
        .collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (1..=400).collect::<Vec<_>>(),
        "each acknowledged change has its own version"
    );
    let (events, quantity): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM events WHERE aggregate_id = $1
                   AND event_type = 'StockAdjusted'),
                (SELECT quantity FROM stock WHERE sku = $1)",
    )
    .bind(LAPTOP)
    .fetch_one(&db.pool)
    .await
    .expect("figures");
    let registered = domain::catalogue::sample()
        .into_iter()
        .find(|item| item.sku.as_str() == LAPTOP)
        .expect("laptop")
        .quantity;
    assert_eq!((events, quantity), (400, registered + 400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_change_in_a_group_leaves_the_others() {
    let db = crate::helpers::TestDatabase::create().await;
    let ledger = store_app::ledger::Ledger::new(db.pool.clone());
    let stock: i64 = sqlx::query_scalar("SELECT quantity FROM stock WHERE sku = $1")
        .bind(LAPTOP)
        .fetch_one(&db.pool)
        .await
        .expect("stock");
    // Twice as many one-unit sales as there are units, all at once: they
    // queue into groups; each group takes what is left and refuses the rest.
    let sales = (0..stock * 2).map(|_| {
        let ledger = ledger.clone();
        tokio::spawn(async move { ledger.change(&change(LAPTOP, -1)).await })
    });
    let answers = futures_util::future::join_all(sales).await;
    let mut accepted = 0;
    for answer in answers {
        match answer.expect("sale task") {
            Ok(_) => accepted += 1,
            Err(store_app::ledger::LedgerError::Stock(
                domain::store::StockError::InsufficientStock { .. },
            )) => {}
            Err(other) => panic!("unexpected answer: {other}"),
        }
    }
    assert_eq!(accepted, stock, "every unit sold once");
    let left: i64 = sqlx::query_scalar("SELECT quantity FROM stock WHERE sku = $1")
        .bind(LAPTOP)
        .fetch_one(&db.pool)
        .await
        .expect("stock");
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_on_every_sku_at_once_each_get_their_own_figures() {
    // Groups take changes queued on any stripe; a refusal in a group decided
    // on kept states sends the whole group back to a read.
    let db = crate::helpers::TestDatabase::create().await;
    let group_sizes = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new(
        "group_sizes",
        "changes per group",
    ))
    .expect("histogram");
    let ledger =
        store_app::ledger::Ledger::new(db.pool.clone()).counting_groups(group_sizes.clone());
    let catalogue = domain::catalogue::sample();
    for item in &catalogue {
        // One change each first, so every stream is kept.
        ledger
            .change(&change(item.sku.as_str(), 1))
            .await
            .expect("first");
    }
    let mut tasks = Vec::new();
    for item in &catalogue {
        for _ in 0..20 {
            let (ledger, sku) = (ledger.clone(), item.sku.to_string());
            tasks.push(tokio::spawn(async move {
                (sku.clone(), ledger.change(&change(&sku, 1)).await)
            }));
        }
        let (ledger, sku) = (ledger.clone(), item.sku.to_string());
        let too_many = -(item.quantity + 1_000);
        tasks.push(tokio::spawn(async move {
            (sku.clone(), ledger.change(&change(&sku, too_many)).await)
        }));
    }
    let mut versions: std::collections::HashMap<String, Vec<i64>> = Default::default();
    let mut refused = 0;
    for task in futures_util::future::join_all(tasks).await {
        match task.expect("change task") {
            (sku, Ok(accepted)) => {
                assert_eq!(accepted.sku.as_str(), sku, "answered with its own SKU");
                versions.entry(sku).or_default().push(accepted.version);
            }
            (
                _,
                Err(store_app::ledger::LedgerError::Stock(
                    domain::store::StockError::InsufficientStock { .. },
                )),
            ) => refused += 1,
            (_, Err(other)) => panic!("unexpected answer: {other}"),
        }
    }
    assert_eq!(refused, catalogue.len(), "each oversized sale refused");
    let changes = catalogue.len() * 22;
    assert_eq!(
        group_sizes.get_sample_sum() as usize,
        changes,
        "each change taken by exactly one group"
    );
    assert!(
        (group_sizes.get_sample_count() as usize) < changes,
        "changes queued together share a group"
    );
    for item in &catalogue {
        let mut got = versions.remove(item.sku.as_str()).expect("versions");
        got.sort_unstable();
        assert_eq!(got, (2..=21).collect::<Vec<_>>(), "{}", item.sku);
        let quantity: i64 = sqlx::query_scalar("SELECT quantity FROM stock WHERE sku = $1")
            .bind(item.sku.as_str())
            .fetch_one(&db.pool)
            .await
            .expect("stock");
        assert_eq!(quantity, item.quantity + 21, "{}", item.sku);
    }
}

#[tokio::test]
async fn a_snapshot_behind_its_events_is_caught_up_by_the_next_change() {
    let db = crate::helpers::TestDatabase::create().await;
    let ledger = store_app::ledger::Ledger::new(db.pool.clone());
    let snapshot = || {
        sqlx::query_as::<_, (i64, Value)>(
            "SELECT last_sequence, payload FROM snapshots WHERE aggregate_id = $1",
        )
        .bind(LAPTOP)
        .fetch_one(&db.pool)
    };
    let (registered_at, registered) = snapshot().await.expect("snapshot");
    ledger.change(&change(LAPTOP, 1)).await.expect("first");
    // Put the snapshot back where it was: the first change is now only in
    // the log, after the snapshot.
    sqlx::query("UPDATE snapshots SET last_sequence = $2, payload = $3 WHERE aggregate_id = $1")
        .bind(LAPTOP)
        .bind(registered_at)
        .bind(&registered)
        .execute(&db.pool)
        .await
        .expect("roll the snapshot back");

    let second = ledger.change(&change(LAPTOP, 1)).await.expect("second");
    assert_eq!(
        second.version, 2,
        "decided after the event past the snapshot"
    );
    let (sequence, payload) = snapshot().await.expect("snapshot");
    assert_eq!(sequence, registered_at + 2);
    assert_eq!(payload["version"], 2);
}
