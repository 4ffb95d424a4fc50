//! Tests of the Rust SDK, its examples and otnctl against a real server in-process (the test
//! kit), and the shared validation cases judged by the SDK without a network call.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod events;
mod examples;
mod funnel;
mod otnctl;
mod otnctl_sandbox;
mod support;
mod validation;
