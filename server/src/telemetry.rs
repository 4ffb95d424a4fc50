//! Logs and traces: an EnvFilter (`RUST_LOG`, default `info`), text (coloured only on a
//! terminal, never with `NO_COLOR`) or JSON output, and OpenTelemetry export over OTLP/gRPC
//! when an endpoint is configured, with W3C `traceparent` taken from incoming calls and
//! carried, through the database, to each Send API call a notification makes.

use std::collections::HashMap;
use std::io::IsTerminal;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{LogFormat, TelemetrySettings};

/// What must be flushed when the process stops.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still buffered (at most a few seconds).
    pub fn shutdown(self) {
        if let Some(p) = self.provider
            && let Err(e) = p.shutdown()
        {
            eprintln!("otn-server: traces not flushed: {e}");
        }
    }
}

fn provider(t: &TelemetrySettings, endpoint: &str) -> Result<SdkTracerProvider, String> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| format!("OTLP exporter: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(t.service_name.clone())
        .build();
    let ratio = Sampler::TraceIdRatioBased(t.sample_ratio.clamp(0.0, 1.0));
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(ratio)))
        .with_resource(resource)
        .build())
}

/// Installs the global subscriber once (later calls, in tests, keep the first). Call inside the
/// Tokio runtime: the OTLP exporter's channel lives on it.
pub fn init(format: LogFormat, traces: &TelemetrySettings) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,h2=warn,hyper=warn"));
    let ansi = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut out = Telemetry::default();
    let otel = match traces.otlp_endpoint.as_deref() {
        Some(endpoint) => match provider(traces, endpoint) {
            Ok(p) => {
                let tracer = p.tracer("otn");
                out.provider = Some(p);
                Some(tracing_opentelemetry::layer().with_tracer(tracer))
            }
            Err(e) => {
                eprintln!("otn-server: {e}; traces are not exported");
                None
            }
        },
        None => None,
    };
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let _ = match format {
        LogFormat::Json => registry
            .with(fmt::layer().json().with_current_span(true))
            .try_init(),
        LogFormat::Text => registry.with(fmt::layer().with_ansi(ansi)).try_init(),
    };
    out
}

fn propagator() -> TraceContextPropagator {
    TraceContextPropagator::new()
}

/// The span of one incoming gRPC call, child of the caller's `traceparent` when it sent one.
pub(crate) fn request_span<B>(req: &http::Request<B>) -> tracing::Span {
    let path = req.uri().path();
    let method = path.rsplit('/').next().unwrap_or(path);
    let span = tracing::info_span!("rpc", otel.name = %method, rpc.method = %method);
    let carrier: HashMap<String, String> = ["traceparent", "tracestate"]
        .iter()
        .filter_map(|k| {
            let v = req.headers().get(*k)?.to_str().ok()?;
            Some((k.to_string(), v.to_string()))
        })
        .collect();
    if !carrier.is_empty() {
        let _ = span.set_parent(propagator().extract(&carrier));
    }
    span
}

/// The W3C `traceparent` of the current span, when it is being traced.
pub(crate) fn current_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    let mut carrier: HashMap<String, String> = HashMap::new();
    propagator().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

/// A span named `name` whose parent is the stored `traceparent` (a root span without one).
pub(crate) fn span_from(traceparent: Option<&str>, name: &'static str) -> tracing::Span {
    let span = tracing::info_span!("send", otel.name = name);
    if let Some(tp) = traceparent {
        let carrier = HashMap::from([("traceparent".to_string(), tp.to_string())]);
        let _ = span.set_parent(propagator().extract(&carrier));
    }
    span
}
