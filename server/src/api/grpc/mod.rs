//! The gRPC adapter of NotificationService: request validation and conversion, the service,
//! the caller of each call, and error mapping.

mod auth;
mod convert;
pub(crate) mod framed;
pub(crate) mod funnel;
mod requests;
pub(crate) mod send;
mod service;
mod status;
pub(crate) mod stream;

pub(crate) use auth::Authorized;
pub(crate) use service::Api;
