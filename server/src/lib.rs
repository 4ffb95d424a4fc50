//! otn-server: the consent ledger, policy, dispatch and Messenger webhook behind a gRPC API.
//!
//! The library's public surface is what the binary, the test kit and the benchmark start the
//! service with: [`app`] (start, shut down), [`config`] and [`clock`]. Everything else is
//! private to the crate.

mod access;
mod api;
pub mod app;
pub mod clock;
pub mod config;
mod dispatch;
mod domain;
mod error;
mod events;
mod messenger;
mod ops;
#[cfg(feature = "sandbox")]
mod sandbox;
mod service;
mod store;
mod telemetry;
mod tls;

pub use access::admin;
pub use telemetry::{Telemetry, init as init_telemetry};
pub use tls::install_provider as install_crypto_provider;
