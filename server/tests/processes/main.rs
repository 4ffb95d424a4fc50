//! Tests that run real `otn-server` processes: killed with SIGKILL and started again, several
//! replicas on one PostgreSQL, and the command-line tools.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod hostile;
mod kill;
mod operations;
mod polite;
mod reload;
mod replicas;

/// The binary under test.
fn bin() -> std::path::PathBuf {
    env!("CARGO_BIN_EXE_otn-server").into()
}
