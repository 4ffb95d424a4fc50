//! The otn-server binary: load configuration, start, and stop on SIGTERM or Ctrl-C.

use clap::Parser;
use otn_server::{app, clock::SystemClock, config};

/// otn: opt-in one-time notifications on Messenger, as a gRPC service.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file (also OTN_CONFIG).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// gRPC listen address (default 127.0.0.1:50051; also OTN_GRPC_ADDR).
    #[arg(long)]
    grpc_addr: Option<String>,
    /// Webhook HTTP listen address (default 127.0.0.1:8080; also OTN_HTTP_ADDR).
    #[arg(long)]
    http_addr: Option<String>,
    /// Database URL (default sqlite://otn.db?mode=rwc; also OTN_DATABASE_URL).
    #[arg(long)]
    database_url: Option<String>,
}

async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let overrides = config::Overrides {
        config_file: args.config,
        grpc_addr: args.grpc_addr,
        http_addr: args.http_addr,
        database_url: args.database_url,
    };
    let config = match config::Config::load(&overrides, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("otn-server: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    otn_server::init_telemetry(config.log_format);
    let running = match app::start(config, std::sync::Arc::new(SystemClock)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "otn-server failed to start");
            return std::process::ExitCode::FAILURE;
        }
    };
    terminated().await;
    tracing::info!("shutdown requested");
    running.shutdown().await;
    std::process::ExitCode::SUCCESS
}
