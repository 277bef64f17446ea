//! `sync-worker`: entry point; everything lives in the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = sync_worker::cli::Cli::parse();
    service_infra::init_tracing(cli.config.log_format);
    match sync_worker::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(error = %format_args!("{error:#}"), "sync-worker failed");
            std::process::ExitCode::FAILURE
        }
    }
}
