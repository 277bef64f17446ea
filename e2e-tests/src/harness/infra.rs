//! What a stack needs from the machine: the binaries, free ports, fresh
//! databases on `TEST_DATABASE_URL`, and RabbitMQ on `TEST_AMQP_URL` (an
//! exchange of its own, or a vhost of its own when a test needs to drop
//! every connection). Unreachable services fail the test with what to
//! start.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};

/// Default PostgreSQL server of the tests (trust auth, local).
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Default RabbitMQ broker of the tests (the well-known guest account).
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

const START_HINT: &str = "start PostgreSQL and RabbitMQ with scripts/ensure-services.sh (or run the tests through scripts/test.sh)";

/// `TEST_DATABASE_URL`: a database on the server tests create theirs on.
pub fn database_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
}

/// `TEST_AMQP_URL`.
pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL").unwrap_or_else(|_| DEFAULT_AMQP_URL.to_owned())
}

/// `database_url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// `amqp_url` with its vhost replaced by `vhost`.
pub fn with_vhost(url: &str, vhost: &str) -> String {
    let server = url.rsplit_once('/').map_or(url, |(server, _)| server);
    format!("{server}/{vhost}")
}

/// The workspace's target directory (`CARGO_TARGET_DIR` or `target/`).
fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The directory of the binaries the stacks run, when not the default.
static BINARY_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Makes every stack run the binaries in `dir` (the soak runs those beside
/// it); call before the first stack starts.
pub fn use_binaries_in(dir: PathBuf) {
    let _ = BINARY_DIR.set(dir);
}

/// Where `cargo build --workspace --bins` put the binaries, or the
/// directory `E2E_BIN_DIR` or [`use_binaries_in`] names.
pub fn binary(name: &str) -> PathBuf {
    let dir = std::env::var_os("E2E_BIN_DIR")
        .map(PathBuf::from)
        .or_else(|| BINARY_DIR.get().cloned())
        .unwrap_or_else(|| target_dir().join("debug"));
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// Directory for the logs of one stack's processes.
pub fn log_dir(stack_id: &str) -> PathBuf {
    let dir = target_dir().join("e2e-logs").join(stack_id);
    std::fs::create_dir_all(&dir).expect("create the log directory");
    dir
}

/// `127.0.0.1:PORT` with a port nothing listens on right now, and that no
/// earlier call of this test process handed out: the listener is closed
/// before the service binds the port, so the kernel may offer the same port
/// again to the next caller (two stores of one stack got one port once).
pub fn free_address() -> String {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
        let port = listener.local_addr().expect("local address").port();
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return format!("127.0.0.1:{port}");
        }
    }
}

/// Creates the databases `names`, failing with a hint when PostgreSQL is
/// unreachable.
pub async fn create_databases(names: &[String]) {
    let url = database_url();
    let mut connection = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&url))
        .await
        .unwrap_or_else(|_| panic!("PostgreSQL at {url} did not answer within 10 s; {START_HINT}"))
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is unreachable ({e}); {START_HINT}"));
    for name in names {
        connection
            .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await
            .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
    }
    let _ = connection.close().await;
}

/// Drops the databases `names`, even with connections left.
pub async fn drop_databases(names: &[String]) -> anyhow::Result<()> {
    let mut connection = PgConnection::connect(&database_url()).await?;
    for name in names {
        connection
            .execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str())
            .await?;
    }
    connection.close().await?;
    Ok(())
}

/// Fails with a hint when no broker answers at `url`.
pub async fn check_broker(url: &str) {
    let connect = lapin::Connection::connect(url, lapin::ConnectionProperties::default());
    let connection = tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .unwrap_or_else(|_| panic!("RabbitMQ at {url} did not answer within 10 s; {START_HINT}"))
        .unwrap_or_else(|e| panic!("RabbitMQ at {url} is unreachable ({e}); {START_HINT}"));
    let _ = connection.close(200, "e2e check".into()).await;
}

/// Deletes the exchanges and queues a stack declared under `exchange`.
pub async fn delete_broker_names(
    url: &str,
    exchanges: &[String],
    queues: &[String],
) -> anyhow::Result<()> {
    let connection =
        lapin::Connection::connect(url, lapin::ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    for queue in queues {
        let name = queue.as_str().into();
        channel.queue_delete(name, Default::default()).await?;
    }
    for exchange in exchanges {
        let name = exchange.as_str().into();
        channel.exchange_delete(name, Default::default()).await?;
    }
    connection.close(200, "e2e clean-up".into()).await?;
    Ok(())
}

/// Runs `rabbitmqctl` with `args`; the broker must be local.
pub fn rabbitmqctl(args: &[&str]) {
    let output = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run rabbitmqctl {args:?} ({e}); this test needs a local RabbitMQ")
        });
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Creates `vhost` with full permissions for the guest user.
pub fn create_vhost(vhost: &str) {
    rabbitmqctl(&["-q", "add_vhost", vhost]);
    rabbitmqctl(&[
        "-q",
        "set_permissions",
        "-p",
        vhost,
        "guest",
        ".*",
        ".*",
        ".*",
    ]);
}

/// Deletes `vhost` and everything in it.
pub fn delete_vhost(vhost: &str) {
    rabbitmqctl(&["-q", "delete_vhost", vhost]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_keep_server_and_options() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?sslmode=disable", "test_x"),
            "postgres://u@h:5432/test_x?sslmode=disable"
        );
        assert_eq!(
            with_vhost("amqp://g:g@h:5672/%2f", "test-1"),
            "amqp://g:g@h:5672/test-1"
        );
    }
}
