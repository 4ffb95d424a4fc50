//! Settings of operations: where metrics and probes are served, trace export, retention.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// `[telemetry]`: OpenTelemetry trace export.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySettings {
    /// OTLP/gRPC collector endpoint (e.g. `http://otel-collector:4317`); none: no export.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the exported spans.
    pub service_name: String,
    /// Share of root traces sampled (0 to 1); a caller's sampled `traceparent` is followed.
    pub sample_ratio: f64,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: "otn".into(),
            sample_ratio: 1.0,
        }
    }
}

/// `[retention]`: what is deleted, once finished or dead for this many days. Deletion runs in
/// small batches (one replica at a time on PostgreSQL) and never touches anything still in use.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Off: nothing is ever deleted.
    pub enabled: bool,
    /// Completed or cancelled notifications, with their deliveries.
    pub notifications_days: u32,
    /// Events of the log (the stream refuses to resume from before what it still has).
    pub events_days: u32,
    /// Opt-in requests sent.
    pub opt_in_requests_days: u32,
    /// Grants that can never be used again (consumed, expired, revoked, invalid) and that no
    /// remaining delivery refers to.
    pub dead_grants_days: u32,
    /// How often a pass runs, in seconds.
    pub interval_secs: u64,
    /// Rows deleted per statement.
    pub batch: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            notifications_days: 90,
            events_days: 30,
            opt_in_requests_days: 90,
            dead_grants_days: 400,
            interval_secs: 300,
            batch: 1_000,
        }
    }
}

pub(super) fn d_admin() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9464))
}
