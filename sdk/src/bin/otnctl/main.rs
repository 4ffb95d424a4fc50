//! otnctl: the command-line client of the otn service (see `otnctl --help`).

mod cli;
mod commands;
mod funnel;
mod json;
mod output;
mod sandbox;
mod send;

use std::process::ExitCode;

use clap::Parser;
use otn_sdk::tonic::Code;
use otn_sdk::{Client, Error};

use cli::{Cli, Command};
use output::Out;

/// The exit code scripts can rely on for an error.
fn exit_code(e: &Error) -> u8 {
    if send::is_failed_deliveries(e) {
        return 7;
    }
    if matches!(e, Error::Config(_)) {
        return 2;
    }
    if e.is_transport() {
        return 6;
    }
    match e.code() {
        Code::InvalidArgument | Code::OutOfRange => 3,
        Code::NotFound => 4,
        Code::FailedPrecondition | Code::AlreadyExists => 5,
        Code::Unavailable => 6,
        Code::Unauthenticated | Code::PermissionDenied => 8,
        _ => 1,
    }
}

async fn run(cli: Cli, out: Out) -> Result<(), Error> {
    if let Command::Sandbox(cmd) = cli.command {
        return sandbox::run(&cli.sandbox_url, out, cmd).await;
    }
    let client = Client::builder(cli.url)
        .api_key_opt(cli.api_key)
        .connect()
        .await?;
    match cli.command {
        Command::OptIns(cmd) => commands::opt_ins(&client, out, cmd).await,
        Command::Send(args) => send::run(&client, out, args).await,
        Command::Notifications(cmd) => commands::notifications(&client, out, cmd).await,
        Command::Events(cmd) => commands::events(&client, out, cmd).await,
        Command::Topics(cmd) => funnel::run(&client, out, cmd).await,
        Command::Sandbox(_) => Ok(()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.output.unwrap_or(match output::stdout_is_terminal() {
        true => cli::Output::Table,
        false => cli::Output::Json,
    });
    let out = Out { format };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            out.error(&Error::Config(format!("cannot start the runtime: {e}")));
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli, out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            out.error(&e);
            ExitCode::from(exit_code(&e))
        }
    }
}
