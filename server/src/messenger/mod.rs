//! Everything that speaks Messenger: the Graph API client, the meaning of Meta's errors, every
//! JSON body sent to Meta, webhook parsing and signatures.

pub(crate) mod errors;
pub(crate) mod graph;
pub(crate) mod signature;
pub(crate) mod webhook;
pub(crate) mod wire;
