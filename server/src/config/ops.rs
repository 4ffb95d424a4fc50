//! Settings of operations: listener limits, trace export, retention, the admin address.

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
    /// Routine webhook successes (each opt-in, each receipt) are DEBUG lines, summarised in
    /// one INFO line this often (seconds) with the counts by kind and skip reason.
    pub log_summary_secs: u64,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: "otn".into(),
            sample_ratio: 1.0,
            log_summary_secs: 60,
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

/// The limits of one listener (`[listeners.grpc]`, `[listeners.http]`, `[listeners.admin]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerLimits {
    /// Connections open at once; past it, new ones wait in the kernel's backlog until one
    /// closes. The three listeners' caps, the database pool and a reserve must fit in the
    /// open-file limit (checked at start, after raising the soft limit to the hard one).
    pub max_connections: usize,
    /// A connection whose first request (TLS handshake and HTTP/2 preface included) has not
    /// arrived within this long is closed (ms).
    pub first_request_timeout_ms: u64,
    /// HTTP/1: a request's headers must arrive within this long, and a kept-alive connection
    /// waits this long for the next request (ms).
    pub header_read_timeout_ms: u64,
    /// A connection with no request in flight (a stream counts until it ends) for this long is
    /// closed gracefully (ms).
    pub idle_timeout_ms: u64,
    /// HTTP/2 keep-alive pings are sent this often (ms)…
    pub keepalive_interval_ms: u64,
    /// …and a connection whose ping is not answered within this long is closed (ms).
    pub keepalive_timeout_ms: u64,
    /// HTTP/2 streams (calls) open at once on one connection.
    pub max_concurrent_streams: u32,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            max_connections: 256,
            first_request_timeout_ms: 10_000,
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 300_000,
            keepalive_interval_ms: 30_000,
            keepalive_timeout_ms: 10_000,
            max_concurrent_streams: 200,
        }
    }
}

/// `[listeners]`: the limits of the gRPC, HTTP (webhook, console, events) and admin listeners.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenersSettings {
    /// The gRPC listener.
    pub grpc: ListenerLimits,
    /// The HTTP listener (webhook, `/v1/events`, console, probes).
    pub http: ListenerLimits,
    /// The admin listener (`/metrics`, probes).
    pub admin: ListenerLimits,
}

impl ListenersSettings {
    /// File descriptors the listeners may hold at once.
    pub fn max_connections(&self) -> u64 {
        [&self.grpc, &self.http, &self.admin]
            .iter()
            .map(|l| l.max_connections as u64)
            .sum()
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        for (name, l) in [
            ("grpc", &self.grpc),
            ("http", &self.http),
            ("admin", &self.admin),
        ] {
            if l.max_connections == 0
                || l.first_request_timeout_ms == 0
                || l.header_read_timeout_ms == 0
                || l.idle_timeout_ms == 0
                || l.max_concurrent_streams == 0
            {
                return Err(format!(
                    "configuration: [listeners.{name}] limits and timeouts must be positive"
                ));
            }
        }
        Ok(())
    }
}
