//! The domain: validated values, grants and recipients, and the dated platform policy.

pub mod decide;
pub mod event;
pub mod grant;
pub mod policy;
pub mod send;
pub mod types;
