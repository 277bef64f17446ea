//! The `sync-worker` binary: parses the command line and runs the subcommand.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sync_worker::cli::run().await
}
