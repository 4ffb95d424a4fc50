//! Who may call: API keys (stored hashed, managed with `otn-server api-key`), client
//! certificates, the scope each method needs, and the caller every call then carries.

pub mod admin;
mod authn;
mod caller;
mod keys;
mod scopes;
pub(crate) mod session;

pub(crate) use authn::Authenticator;
pub(crate) use caller::{Caller, Credential};
pub(crate) use keys::KeyRecord;
pub(crate) use scopes::{METHODS, Scope, mutates};
