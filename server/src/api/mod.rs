//! The inbound adapters: gRPC (`grpc/`) and the Messenger webhook endpoint (`webhook.rs`). They
//! convert, call the use cases in `service/`, and convert back; nothing here touches storage.

pub(crate) mod console;
pub(crate) mod grpc;
pub(crate) mod links;
pub(crate) mod listen;
pub(crate) mod webhook;
