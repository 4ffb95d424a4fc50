//! The authorisation layer in front of NotificationService: every call is authenticated and
//! checked for its method's scope before it reaches the service, which then finds the caller in
//! the request's extensions; the caller's deadline (`grpc-timeout`) is kept. Health and
//! reflection are not behind it (probes and tools). One log line per call (method, caller,
//! code, time, request id) and its metrics.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tonic::Status;
use tonic::body::Body;
use tonic::server::NamedService;
use tower::Service;

use crate::access::{Authenticator, Caller, mutates};

/// NotificationService behind authentication.
#[derive(Debug, Clone)]
pub(crate) struct Authorized<S> {
    inner: S,
    authn: Arc<Authenticator>,
}

impl<S> Authorized<S> {
    pub(crate) fn new(inner: S, authn: Arc<Authenticator>) -> Self {
        Self { inner, authn }
    }
}

impl<S: NamedService> NamedService for Authorized<S> {
    const NAME: &'static str = S::NAME;
}

/// The subject common name of the verified client certificate, if the connection has one.
fn peer_common_name(req: &http::Request<Body>) -> Option<String> {
    let certs = req
        .extensions()
        .get::<crate::api::listen::ConnInfo>()?
        .peer_certs
        .clone()?;
    let der = certs.first()?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}

/// The caller's deadline from `grpc-timeout` (`<at most 8 digits><H|M|S|m|u|n>`), if any.
fn grpc_timeout(req: &http::Request<Body>) -> Option<Duration> {
    let v = req.headers().get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = v.split_at(v.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

fn code_of(resp: &http::Response<Body>) -> tonic::Code {
    resp.headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map_or(tonic::Code::Ok, tonic::Code::from)
}

/// The one line per RPC (and its metrics): client errors at INFO, what the service could not
/// do (unavailable, deadline) at WARN, its own faults at ERROR; successful reads at DEBUG.
/// `method` is a method of the contract or `other` (the metric's label set stays closed).
fn log(call: &Call<'_>, actor: &str, code: tonic::Code) {
    let Call {
        method,
        request_id,
        peer,
        started,
    } = *call;
    let secs = started.elapsed().as_secs_f64();
    let code = crate::ops::metrics::code_label(code);
    crate::ops::metrics::rpc(method, code, secs);
    let ms = secs * 1000.0;
    match code {
        "Internal" | "Unknown" | "DataLoss" => {
            tracing::error!(method, actor, code, ms, request_id, peer, "rpc")
        }
        "Unavailable" | "DeadlineExceeded" | "ResourceExhausted" => {
            tracing::warn!(method, actor, code, ms, request_id, peer, "rpc")
        }
        "OK" if !mutates(method) => {
            tracing::debug!(method, actor, code, ms, request_id, peer, "rpc")
        }
        _ => tracing::info!(method, actor, code, ms, request_id, peer, "rpc"),
    }
}

/// What the RPC line says of a call besides its caller and code.
#[derive(Clone, Copy)]
struct Call<'a> {
    method: &'static str,
    request_id: &'a str,
    peer: Option<&'a str>,
    started: Instant,
}

/// The caller's `x-request-id`, or a new one (echoed back in the response headers).
fn request_id(req: &http::Request<Body>) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_string)
}

fn with_request_id(mut resp: http::Response<Body>, id: &str) -> http::Response<Body> {
    if let Ok(v) = http::HeaderValue::from_str(id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

impl<S> Service<http::Request<Body>> for Authorized<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        // The clone that was made ready serves this call.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let authn = self.authn.clone();
        // The caller's deadline, from now: the call ends DEADLINE_EXCEEDED when it passes (the
        // caller's own timer may say so first; either way the code is the same).
        let deadline = grpc_timeout(&req).map(|t| tokio::time::Instant::now() + t);
        Box::pin(async move {
            let started = Instant::now();
            let name = req.uri().path().rsplit('/').next().unwrap_or("");
            let method = known_method(name);
            let header = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.to_str().unwrap_or("").to_string());
            let cn = peer_common_name(&req);
            let rid = request_id(&req);
            let peer = req
                .extensions()
                .get::<crate::api::listen::ConnInfo>()
                .map(|c| c.remote.to_string());
            let call = Call {
                method,
                request_id: &rid,
                peer: peer.as_deref(),
                started,
            };
            let status = match authn
                .authorize(name, header.as_deref(), cn.as_deref())
                .await
            {
                Ok(caller) => {
                    let actor = caller.actor().as_str().to_string();
                    req.extensions_mut().insert::<Caller>(caller);
                    let served = inner.call(req);
                    let resp = match deadline {
                        Some(at) => match tokio::time::timeout_at(at, served).await {
                            Ok(r) => r?,
                            Err(_) => Status::deadline_exceeded("the caller's deadline passed")
                                .into_http(),
                        },
                        None => served.await?,
                    };
                    log(&call, &actor, code_of(&resp));
                    return Ok(with_request_id(resp, &rid));
                }
                Err(e) => Status::from(e),
            };
            log(&call, "-", status.code());
            Ok(with_request_id(status.into_http(), &rid))
        })
    }
}

/// The method's name as a label: a method of the contract, or `other`.
fn known_method(name: &str) -> &'static str {
    crate::access::METHODS
        .iter()
        .find(|m| **m == name)
        .copied()
        .unwrap_or("other")
}
