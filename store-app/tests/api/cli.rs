//! The command line: `migrate` creates the database, `populate` is
//! idempotent and takes a CSV catalogue.

use crate::crash::store_command;
use crate::helpers::TestDatabase;

async fn run(url: &str, args: &[&str]) -> bool {
    let mut command = store_command_for(url, args);
    command.status().await.expect("run store-app").success()
}

fn store_command_for(url: &str, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_store-app"));
    command
        .args(args)
        .env("DATABASE_URL", url)
        .env("LOG_FORMAT", "json");
    command
}

#[tokio::test]
async fn migrate_creates_the_database_and_populate_twice_changes_nothing() {
    let (name, url) = TestDatabase::fresh_name();

    assert!(run(&url, &["migrate"]).await, "migrate");
    let db = TestDatabase::attach(name, url.clone()).await;
    assert!(run(&url, &["populate"]).await, "first populate");
    let after_first = db.event_count().await;
    assert!(run(&url, &["populate"]).await, "second populate");

    assert_eq!(after_first, 10, "one registration per sample SKU");
    assert_eq!(db.event_count().await, after_first);
    let tv: String = sqlx::query_scalar("SELECT name FROM stock WHERE sku = 'ELEC-TV-008'")
        .fetch_one(&db.pool)
        .await
        .expect("tv");
    assert_eq!(tv, "LG OLED C2 65\"");
    let verify = store_command(&db, &["rebuild-projections", "--verify"], 0)
        .output()
        .await
        .expect("verify");
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{stdout}");
    // The same words as central's verify.
    assert!(stdout.contains("projections match the log"), "{stdout}");
}

#[tokio::test]
async fn populate_reads_a_csv_catalogue_and_refuses_a_bad_one() {
    let (name, url) = TestDatabase::fresh_name();
    assert!(run(&url, &["migrate"]).await);
    let db = TestDatabase::attach(name, url.clone()).await;
    let dir = std::env::temp_dir().join(format!("catalogue-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("good.csv");
    let bad = dir.join("bad.csv");
    std::fs::write(
        &good,
        "sku,name,quantity\nTOY-001,Kite,7\nTOY-002,\"Yo-yo, red\",3\n",
    )
    .expect("write");
    std::fs::write(&bad, "sku,name,quantity\ntoy lower,Kite,7\n").expect("write");

    let bad_ok = run(
        &url,
        &["populate", "--catalogue", bad.to_str().expect("path")],
    )
    .await;
    let good_ok = run(
        &url,
        &["populate", "--catalogue", good.to_str().expect("path")],
    )
    .await;

    assert!(!bad_ok, "an invalid catalogue is refused");
    assert!(good_ok);
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM stock ORDER BY sku")
        .fetch_all(&db.pool)
        .await
        .expect("names");
    assert_eq!(names, vec!["Kite", "Yo-yo, red"]);
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[tokio::test]
async fn clients_are_created_listed_and_disabled_and_if_missing_leaves_them_so() {
    let (name, url) = TestDatabase::fresh_name();
    assert!(run(&url, &["migrate"]).await);
    let db = TestDatabase::attach(name, url.clone()).await;
    let create = ["clients", "create", "--id", "pos-01", "--role", "pos"];

    let created = store_command_for(&url, &create)
        .output()
        .await
        .expect("create");
    let printed = String::from_utf8_lossy(&created.stdout);
    assert!(created.status.success(), "{printed}");
    assert!(
        printed.contains("client_secret: "),
        "a generated secret is printed once: {printed}"
    );
    let admin = ["clients", "create", "--id", "x", "--role", "admin"];
    let refused = store_command_for(&url, &admin)
        .output()
        .await
        .expect("create admin");
    assert!(!refused.status.success(), "a store has no admin clients");

    assert!(run(&url, &["clients", "disable", "--id", "pos-01"]).await);
    let again = [
        &create[..],
        &["--secret", "another-secret-0001", "--if-missing"],
    ]
    .concat();
    assert!(run(&url, &again).await);
    let disabled: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT disabled_at FROM clients WHERE client_id = 'pos-01'")
            .fetch_one(&db.pool)
            .await
            .expect("client row");
    assert!(
        disabled.is_some(),
        "--if-missing must not enable a disabled client"
    );

    let listed = store_command_for(&url, &["clients", "list"])
        .output()
        .await
        .expect("list");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.lines().any(|line| line.starts_with("pos-01\tpos\t")),
        "{listed}"
    );
}
