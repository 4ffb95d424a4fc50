//! otn-server: the consent ledger, policy, dispatch and Messenger webhook behind a gRPC API.

pub mod api;
pub mod app;
pub mod clock;
pub mod config;
pub mod dispatch;
pub mod domain;
pub mod error;
pub mod events;
pub mod ledger;
pub mod messenger;
pub mod store;
pub mod telemetry;
