//! End-to-end tests of the whole service: each test starts it in-process (otn-testkit) with a
//! fresh database and drives it the way a caller would, over gRPC and signed webhooks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod books;
mod console;
mod echoes;
mod edges;
mod faults;
mod funnel;
mod ledger;
mod meta_sending;
mod meta_webhooks;
mod operations;
mod opt_in;
mod planning;
mod policy;
mod polite;
mod receipts;
mod reflection;
mod restart;
mod sending;
mod server;
mod stream;
mod tls;
mod validation;
mod webhook;
mod webhook_events;
