//! The `store-app` binary: parses the command line and runs the subcommand.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    store_app::cli::run().await
}
