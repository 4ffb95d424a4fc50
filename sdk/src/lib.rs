//! otn-sdk: the Rust client of the otn service — connection, retries, typed errors, send builders and a reconnecting event stream.
//!
//! ```no_run
//! # async fn demo() -> Result<(), otn_sdk::Error> {
//! use otn_sdk::{Button, Client};
//!
//! let client = Client::builder("http://127.0.0.1:50051")
//!     .api_key("secret")
//!     .connect()
//!     .await?;
//! let sent = client
//!     .back_in_stock("sandbox-page", "sku-123")
//!     .max_recipients(40)
//!     .button_template(
//!         "Back in stock!",
//!         [Button::url("Buy now", "https://shop.example/sku-123")],
//!     )
//!     .send()
//!     .await?;
//! let id = sent.notification.map(|n| n.notification_id).unwrap_or_default();
//! # let _ = id;
//! # Ok(()) }
//! ```
//!
//! - [`Client`] / [`ClientBuilder`]: connect and request timeouts, optional TLS (feature `tls`),
//!   an optional API key sent as `authorization: Bearer <key>` on every call.
//! - Every mutating call that has a `request_id` gets a UUID v4 unless the caller gave one; the
//!   same id is kept across the SDK's retries ([`RetryPolicy`]).
//! - [`SendBuilder`] validates content with the server's limits before anything is sent.
//! - [`Client::events`] gives a stream of delivery events that reconnects and resumes by itself.
//! - [`Error`] exposes the gRPC code, the `ErrorInfo` reason, field violations and retry delay.

mod client;
mod error;
mod events;
pub mod examples;
mod notification;
mod optin;
mod retry;
mod rpc;
mod send;
pub mod validate;

pub use client::{ApiKey, Client, ClientBuilder, Transport};
pub use error::{Error, FieldViolation, RpcError, code_name};
pub use events::{EventStream, EventsBuilder, ReconnectPolicy};
pub use notification::{NotificationWatch, Progress, is_final};
pub use optin::OptInBuilder;
pub use retry::RetryPolicy;
pub use send::{Button, SendBuilder, back_in_stock_topic, price_drop_topic};

/// The generated messages and client of package `otn.v1`.
pub use otn::v1 as proto;
pub use otn::v1::ErrorReason;
pub use otn::v1::notification_service_client::NotificationServiceClient;
pub use otn::{prost_types, tonic};
pub use tonic_types;

/// The URL the examples and `otnctl` use when `OTN_URL` is not set.
pub const DEFAULT_URL: &str = "http://127.0.0.1:50051";
