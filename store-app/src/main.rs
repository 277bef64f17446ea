//! The `store-app` binary: parses the command line and runs the subcommand.

use store_app::cli::Command;
use store_app::db::MIGRATOR;
use store_app::projections::rebuild::StoreProjections;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let about = service_infra::about!();
    Command::main::<StoreProjections>(about, &MIGRATOR).await
}
