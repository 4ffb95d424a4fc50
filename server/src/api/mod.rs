//! The gRPC adapters: request validation and conversion, the service, and error mapping.

pub mod convert;
pub mod send;
pub mod service;
pub mod status;
pub mod stream;
