//! Running it in production: the metrics, the admin listener (metrics, health, readiness),
//! the samplers behind the gauges, retention, and configuration reloads.

pub(crate) mod admin;
pub(crate) mod expiry;
pub(crate) mod metrics;
pub(crate) mod reload;
pub(crate) mod retention;
pub(crate) mod sampler;
pub(crate) mod summary;
