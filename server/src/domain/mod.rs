//! The domain: its vocabulary, validated values, grants, content, the dated platform policy, the
//! policy engine and send planning. Plain Rust: no tonic, no sea-orm, no I/O.

pub(crate) mod content;
pub(crate) mod decide;
pub(crate) mod erasure;
pub(crate) mod event;
pub(crate) mod evidence;
pub(crate) mod funnel;
pub(crate) mod grant;
pub(crate) mod links;
pub(crate) mod notification;
pub(crate) mod outcome;
pub(crate) mod plan;
pub(crate) mod planning;
pub(crate) mod policy;
pub(crate) mod polite;
pub(crate) mod values;
pub(crate) mod vocab;
