//! The `central-app` binary: parses the command line and runs the subcommand.

use central_app::cli::Command;
use central_app::db::MIGRATOR;
use central_app::projections::rebuild::CentralProjections;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let about = service_infra::about!();
    Command::main::<CentralProjections>(about, &MIGRATOR).await
}
