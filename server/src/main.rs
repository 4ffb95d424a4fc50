//! The otn-server binary: serve (the default), manage API keys, migrate, check the
//! configuration; stops on SIGTERM or Ctrl-C.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use otn_server::{admin, app, clock::SystemClock, config};

/// otn: opt-in one-time notifications on Messenger, as a gRPC service.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file (also OTN_CONFIG).
    #[arg(long, global = true)]
    config: Option<std::path::PathBuf>,
    /// gRPC listen address (default 127.0.0.1:50051; also OTN_GRPC_ADDR).
    #[arg(long, global = true)]
    grpc_addr: Option<String>,
    /// Webhook HTTP listen address (default 127.0.0.1:8080; also OTN_HTTP_ADDR).
    #[arg(long, global = true)]
    http_addr: Option<String>,
    /// Database URL (default sqlite://otn.db?mode=rwc; also OTN_DATABASE_URL).
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Run the sandbox: a page backed by a local Messenger simulator, calls without an API key
    /// accepted (also OTN_SANDBOX=1). Without any configuration the server is the sandbox.
    #[arg(long, global = true)]
    sandbox: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve gRPC and the webhook (the default).
    Serve,
    /// Manage the API keys callers authenticate with.
    #[command(subcommand)]
    ApiKey(KeyCommand),
    /// Apply the database migrations and exit.
    Migrate,
    /// Validate the configuration and print it, secrets redacted; non-zero when invalid.
    CheckConfig,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create a key; it is printed once, as the last line of standard output.
    Create {
        /// The caller's name (recorded on everything the key does).
        #[arg(long)]
        name: String,
        /// A scope: read, consent, send, erase (repeat for several).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// A page the key may act on (repeat for several; none: every page).
        #[arg(long = "page")]
        pages: Vec<String>,
    },
    /// List the keys (never the keys themselves).
    List,
    /// Revoke every key of this name; servers stop accepting it within seconds.
    Revoke { name: String },
    /// Replace the key of this name with a new one, printed as the last line; the old one keeps
    /// working for the grace period.
    Rotate {
        name: String,
        /// Seconds the old key keeps working.
        #[arg(long, default_value_t = 3600)]
        grace_secs: u64,
    },
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

async fn keys(database_url: &str, cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Create {
            name,
            scopes,
            pages,
        } => {
            let key = admin::NewApiKey {
                name: name.clone(),
                scopes,
                pages,
            };
            let secret = admin::create_api_key(database_url, &key).await?;
            println!("created API key {name}; it is shown only now:");
            println!("{secret}");
        }
        KeyCommand::List => {
            println!("NAME\tKEY ID\tSCOPES\tPAGES\tCREATED\tLAST USED\tSTATUS");
            for k in admin::list_api_keys(database_url).await? {
                let status = match (&k.revoked, &k.expires) {
                    (Some(at), _) => format!("revoked {at}"),
                    (None, Some(at)) => format!("expires {at}"),
                    (None, None) => "live".to_string(),
                };
                let pages = match k.pages.is_empty() {
                    true => "*".to_string(),
                    false => k.pages.join(","),
                };
                println!(
                    "{}\t{}\t{}\t{pages}\t{}\t{}\t{status}",
                    k.name,
                    k.key_id,
                    k.scopes.join(","),
                    k.created,
                    k.last_used.as_deref().unwrap_or("never"),
                );
            }
        }
        KeyCommand::Revoke { name } => {
            let n = admin::revoke_api_key(database_url, &name).await?;
            if n == 0 {
                anyhow::bail!("no live key named {name}");
            }
            println!("revoked {n} key(s) named {name}");
        }
        KeyCommand::Rotate { name, grace_secs } => {
            let grace = Duration::from_secs(grace_secs);
            let secret = admin::rotate_api_key(database_url, &name, grace).await?;
            println!("rotated {name}: the old key works for {grace_secs} s more; the new one:");
            println!("{secret}");
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let overrides = config::Overrides {
        config_file: args.config,
        grpc_addr: args.grpc_addr,
        http_addr: args.http_addr,
        database_url: args.database_url,
        sandbox: args.sandbox,
    };
    let config = match config::Config::load(&overrides, &config::Env::process()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("otn-server: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = match args.command {
        Some(Command::ApiKey(cmd)) => keys(&config.database_url, cmd).await,
        Some(Command::Migrate) => admin::migrate(&config.database_url).await,
        Some(Command::CheckConfig) => admin::check_config(&config).map(|text| print!("{text}")),
        None | Some(Command::Serve) => return serve(config).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("otn-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: config::Config) -> ExitCode {
    if let Err(e) = config.runs_sandbox() {
        eprintln!("otn-server: {e}");
        return ExitCode::from(2);
    }
    let telemetry = otn_server::init_telemetry(config.log_format, &config.telemetry);
    let running = match app::start(config, std::sync::Arc::new(SystemClock)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "otn-server failed to start");
            telemetry.shutdown();
            return ExitCode::FAILURE;
        }
    };
    terminated().await;
    tracing::info!("shutdown requested");
    running.shutdown().await;
    telemetry.shutdown();
    ExitCode::SUCCESS
}
