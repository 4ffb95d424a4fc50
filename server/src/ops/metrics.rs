//! Every metric the service exports, named in one place (`otn_…`, units in the names), with
//! the Prometheus recorder they are rendered from. Labels are bounded: pages come from the
//! configuration, methods from the contract, codes, states and reasons from fixed lists.

use std::sync::OnceLock;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::vocab::DeliveryState;

/// Latency buckets, in seconds.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder (once; later calls reuse it).
pub(crate) fn install() {
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
            .ok()
            .and_then(|b| b.install_recorder().ok())
    });
}

/// Every gRPC code, as labelled.
const CODES: [tonic::Code; 17] = [
    tonic::Code::Ok,
    tonic::Code::Cancelled,
    tonic::Code::Unknown,
    tonic::Code::InvalidArgument,
    tonic::Code::DeadlineExceeded,
    tonic::Code::NotFound,
    tonic::Code::AlreadyExists,
    tonic::Code::PermissionDenied,
    tonic::Code::ResourceExhausted,
    tonic::Code::FailedPrecondition,
    tonic::Code::Aborted,
    tonic::Code::OutOfRange,
    tonic::Code::Unimplemented,
    tonic::Code::Internal,
    tonic::Code::Unavailable,
    tonic::Code::DataLoss,
    tonic::Code::Unauthenticated,
];

/// The listeners, as labelled.
pub(crate) const LISTENERS: [&str; 3] = ["grpc", "http", "admin"];
/// The statuses the webhook answers.
const WEBHOOK_STATUSES: [u16; 5] = [200, 400, 403, 500, 503];
/// The grant states, as labelled.
pub(crate) const GRANT_STATES: [&str; 7] = [
    "active", "reserved", "consumed", "expired", "revoked", "stopped", "invalid",
];

/// Every family at zero for its closed label sets, so that a fresh server already has every
/// series an alert or a dashboard reads (a `rate(…)` over a series that does not exist yet is
/// no data, not zero). Page-labelled series are registered per page by [`register_pages`];
/// labels that only failures carry (Meta's error codes, skip reasons) appear with their first
/// use, next to their family's zero series.
pub(crate) fn register() {
    let mut methods: Vec<&'static str> = crate::access::METHODS.to_vec();
    methods.push("other");
    for method in methods {
        for code in CODES {
            counter!("otn_rpc_requests_total", "method" => method, "code" => code_label(code))
                .absolute(0);
        }
        let _ = histogram!("otn_rpc_duration_seconds", "method" => method);
    }
    for listener in LISTENERS {
        gauge!("otn_open_connections", "listener" => listener).increment(0.0);
        counter!("otn_connection_limit_reached_total", "listener" => listener).absolute(0);
    }
    for kind in crate::service::WEBHOOK_KINDS {
        counter!("otn_webhook_events_total", "kind" => kind, "outcome" => "applied", "reason" => "")
            .absolute(0);
        counter!("otn_webhook_events_total", "kind" => kind, "outcome" => "failed", "reason" => "storage")
            .absolute(0);
    }
    for status in WEBHOOK_STATUSES {
        counter!("otn_webhook_requests_total", "status" => status.to_string()).absolute(0);
    }
    gauge!("otn_stream_subscribers").increment(0.0);
    let _ = histogram!("otn_stream_lag_seconds");
    counter!("otn_events_sequenced_total").absolute(0);
    for table in crate::ops::retention::TABLES {
        counter!("otn_retention_deleted_total", "table" => table).absolute(0);
    }
    for state in GRANT_STATES {
        gauge!("otn_grants", "state" => state).increment(0.0);
    }
    let _ = histogram!("otn_db_write_transaction_seconds");
    for state in ["in_use", "idle"] {
        gauge!("otn_db_connections", "state" => state).increment(0.0);
    }
    gauge!("otn_event_log_head_sequence").increment(0.0);
    gauge!("otn_event_log_oldest_sequence").increment(0.0);
    for outcome in ["redirected", "not_found"] {
        counter!("otn_click_requests_total", "outcome" => outcome).absolute(0);
    }
    for format in ["csv", "json", "ndjson"] {
        counter!("otn_delivery_exports_total", "format" => format).absolute(0);
    }
}

/// The page-labelled families at zero for `pages` (at start, and for pages a reload adds).
pub(crate) fn register_pages<'a>(pages: impl IntoIterator<Item = &'a str>) {
    for page in pages {
        let p = || page.to_string();
        counter!("otn_send_api_calls_total", "page_id" => p(), "outcome" => "accepted", "code" => "0")
            .absolute(0);
        let _ = histogram!("otn_send_api_duration_seconds", "page_id" => p());
        let _ = histogram!("otn_delivery_due_to_send_seconds", "page_id" => p());
        for state in ["sent", "failed", "unconfirmed"] {
            counter!("otn_deliveries_finished_total", "page_id" => p(), "state" => state)
                .absolute(0);
        }
        for was in ["queued", "unconfirmed", "failed"] {
            counter!("otn_deliveries_confirmed_total", "page_id" => p(), "was" => was).absolute(0);
        }
        for state in ["queued", "sending"] {
            gauge!("otn_deliveries", "page_id" => p(), "state" => state).increment(0.0);
        }
        gauge!("otn_page_paused", "page_id" => p()).increment(0.0);
        gauge!("otn_page_pause_remaining_seconds", "page_id" => p()).increment(0.0);
        for kind in ["stop", "block", "policy_enforcement"] {
            counter!("otn_negative_signals_total", "page_id" => p(), "kind" => kind).absolute(0);
        }
        gauge!("otn_breaker_tripped", "page_id" => p()).increment(0.0);
        for step in crate::domain::funnel::FunnelStep::ALL {
            let step = crate::store::funnel_step_name(step);
            counter!("otn_funnel_steps_total", "page_id" => p(), "step" => step).absolute(0);
        }
    }
}

/// The metrics in Prometheus' text format.
pub(crate) fn render() -> String {
    match HANDLE.get() {
        Some(Some(h)) => h.render(),
        _ => String::new(),
    }
}

/// The label of a gRPC code: `OK`, else its name as tonic spells it (`InvalidArgument`, …).
pub(crate) fn code_label(code: tonic::Code) -> &'static str {
    use tonic::Code as C;
    match code {
        C::Ok => "OK",
        C::Cancelled => "Cancelled",
        C::Unknown => "Unknown",
        C::InvalidArgument => "InvalidArgument",
        C::DeadlineExceeded => "DeadlineExceeded",
        C::NotFound => "NotFound",
        C::AlreadyExists => "AlreadyExists",
        C::PermissionDenied => "PermissionDenied",
        C::ResourceExhausted => "ResourceExhausted",
        C::FailedPrecondition => "FailedPrecondition",
        C::Aborted => "Aborted",
        C::OutOfRange => "OutOfRange",
        C::Unimplemented => "Unimplemented",
        C::Internal => "Internal",
        C::Unavailable => "Unavailable",
        C::DataLoss => "DataLoss",
        C::Unauthenticated => "Unauthenticated",
    }
}

/// One RPC finished with `code` after `secs`: `method` is a method of the contract or `other`,
/// `code` a [`code_label`], so the label sets stay closed whatever callers send.
pub(crate) fn rpc(method: &'static str, code: &'static str, secs: f64) {
    counter!("otn_rpc_requests_total", "method" => method, "code" => code).increment(1);
    histogram!("otn_rpc_duration_seconds", "method" => method).record(secs);
}

/// Connections open on `listener`, up or down by one.
pub(crate) fn open_connections(listener: &'static str, delta: f64) {
    gauge!("otn_open_connections", "listener" => listener).increment(delta);
}

/// `listener` had all its connections in use (new ones wait in the backlog).
pub(crate) fn connection_limit_reached(listener: &'static str) {
    counter!("otn_connection_limit_reached_total", "listener" => listener).increment(1);
}

/// One Send API call of `page` ended as `outcome` (`accepted` or the failure's class) with
/// Meta's error `code` (`0` when accepted, `transport` when no answer came).
pub(crate) fn send_api(page: &str, outcome: &str, code: &str, secs: f64) {
    let p = page.to_string();
    counter!("otn_send_api_calls_total", "page_id" => p.clone(), "outcome" => outcome.to_string(), "code" => code.to_string())
        .increment(1);
    histogram!("otn_send_api_duration_seconds", "page_id" => p).record(secs);
}

/// How long a delivery waited between being due and its Send API call.
pub(crate) fn due_to_send(page: &str, secs: f64) {
    histogram!("otn_delivery_due_to_send_seconds", "page_id" => page.to_string()).record(secs);
}

/// A delivery became final (`sent`, `failed` or `unconfirmed`).
pub(crate) fn delivery_finished(page: &str, state: &'static str) {
    counter!("otn_deliveries_finished_total", "page_id" => page.to_string(), "state" => state)
        .increment(1);
}

/// The label of a final delivery state.
pub(crate) fn finished_state(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Sent | DeliveryState::Delivered | DeliveryState::Read => "sent",
        DeliveryState::Failed => "failed",
        DeliveryState::Unconfirmed => "unconfirmed",
        DeliveryState::Cancelled => "cancelled",
        DeliveryState::Queued | DeliveryState::Sending => "open",
    }
}

/// Meta's echo confirmed a delivery that was `was` (`queued`, `unconfirmed` or `failed`)
/// after its outcome was recorded.
pub(crate) fn delivery_confirmed(page: &str, was: &'static str) {
    counter!("otn_deliveries_confirmed_total", "page_id" => page.to_string(), "was" => was)
        .increment(1);
}

/// One webhook event: `applied`, `skipped` (with its reason) or `failed` (storage).
pub(crate) fn webhook_event(kind: &str, outcome: &'static str, reason: &str) {
    counter!("otn_webhook_events_total", "kind" => kind.to_string(), "outcome" => outcome, "reason" => reason.to_string())
        .increment(1);
}

/// One webhook POST answered with `status`.
pub(crate) fn webhook_request(status: u16) {
    counter!("otn_webhook_requests_total", "status" => status.to_string()).increment(1);
}

/// Stream subscribers of this process, up or down by one.
pub(crate) fn stream_subscribers(delta: f64) {
    gauge!("otn_stream_subscribers").increment(delta);
}

/// How long after its time an event reached a subscriber.
pub(crate) fn stream_lag(secs: f64) {
    histogram!("otn_stream_lag_seconds").record(secs);
}

/// Events numbered by this process's sequencer.
pub(crate) fn sequenced(n: u64) {
    counter!("otn_events_sequenced_total").increment(n);
}

/// Rows deleted by retention.
pub(crate) fn retention_deleted(table: &'static str, n: u64) {
    counter!("otn_retention_deleted_total", "table" => table).increment(n);
}

/// Open deliveries of a page by state (the queue), as last sampled.
pub(crate) fn open_deliveries(page: &str, state: &'static str, n: u64) {
    gauge!("otn_deliveries", "page_id" => page.to_string(), "state" => state).set(n as f64);
}

/// Whether a page's sending is paused, and until when (seconds from now; 0 when not).
pub(crate) fn page_paused(page: &str, paused: bool, for_secs: f64) {
    gauge!("otn_page_paused", "page_id" => page.to_string()).set(f64::from(u8::from(paused)));
    gauge!("otn_page_pause_remaining_seconds", "page_id" => page.to_string()).set(for_secs);
}

/// A negative signal of a page (`kind`: stop, block, policy_enforcement), as the circuit
/// breaker counts them.
pub(crate) fn negative_signal(page: &str, kind: &'static str) {
    counter!("otn_negative_signals_total", "page_id" => page.to_string(), "kind" => kind)
        .increment(1);
}

/// Whether a page's circuit breaker has tripped (its sending paused until an operator resumes).
pub(crate) fn breaker_tripped(page: &str, tripped: bool) {
    gauge!("otn_breaker_tripped", "page_id" => page.to_string()).set(f64::from(u8::from(tripped)));
}

/// Grants by state, as last sampled.
pub(crate) fn grants(state: &'static str, n: u64) {
    gauge!("otn_grants", "state" => state).set(n as f64);
}

/// One write transaction committed after `secs` (begin to commit).
pub(crate) fn write_transaction(secs: f64) {
    histogram!("otn_db_write_transaction_seconds").record(secs);
}

/// The database pool: connections in use and idle.
pub(crate) fn db_connections(in_use: u32, idle: u32) {
    gauge!("otn_db_connections", "state" => "in_use").set(f64::from(in_use));
    gauge!("otn_db_connections", "state" => "idle").set(f64::from(idle));
}

/// The last sequence of the event log, and the oldest one still kept.
pub(crate) fn event_log(head: i64, oldest_kept: i64) {
    gauge!("otn_event_log_head_sequence").set(head as f64);
    gauge!("otn_event_log_oldest_sequence").set(oldest_kept as f64);
}

/// Events counted toward a funnel step (issue 22), by page: the same counts GetFunnel reads,
/// as they commit in this process (topics are not a label: they are unbounded).
pub(crate) fn funnel_step(page: &str, step: &'static str, n: u64) {
    counter!("otn_funnel_steps_total", "page_id" => page.to_string(), "step" => step).increment(n);
}

/// One request of a tracked link: `redirected` (the first open of its delivery is the one
/// counted), or `not_found` (a bad signature, an unknown delivery or button).
pub(crate) fn click(outcome: &'static str) {
    counter!("otn_click_requests_total", "outcome" => outcome).increment(1);
}

/// One export of a notification's deliveries started, by format.
pub(crate) fn export(format: &'static str) {
    counter!("otn_delivery_exports_total", "format" => format).increment(1);
}
