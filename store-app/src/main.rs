//! `store-app`: entry point; everything lives in the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = store_app::cli::Cli::parse();
    service_infra::init_tracing(cli.config.log_format);
    match store_app::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(error = %format_args!("{error:#}"), "store-app failed");
            std::process::ExitCode::FAILURE
        }
    }
}
