//! The authorisation layer in front of NotificationService: every call is authenticated and
//! checked for its method's scope before it reaches the service, which then finds the caller in
//! the request's extensions. Health and reflection are not behind it (probes and tools). One
//! log line per call (method, caller, code, time, request id) and its metrics.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

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
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let certs = req
        .extensions()
        .get::<TlsConnectInfo<TcpConnectInfo>>()?
        .peer_certs()?;
    let der = certs.first()?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}

fn code_of(resp: &http::Response<Body>) -> String {
    resp.headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map_or_else(
            || "OK".to_string(),
            |c| format!("{:?}", tonic::Code::from(c)),
        )
}

/// The one line per RPC (and its metrics): client errors at INFO, what the service could not
/// do (unavailable, deadline) at WARN, its own faults at ERROR; successful reads at DEBUG.
fn log(method: &str, actor: &str, code: &str, request_id: &str, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    crate::ops::metrics::rpc(method, code, secs);
    let ms = secs * 1000.0;
    match code {
        "Internal" | "Unknown" | "DataLoss" => {
            tracing::error!(method, actor, code, ms, request_id, "rpc")
        }
        "Unavailable" | "DeadlineExceeded" | "ResourceExhausted" => {
            tracing::warn!(method, actor, code, ms, request_id, "rpc")
        }
        "OK" if !mutates(method) => tracing::debug!(method, actor, code, ms, request_id, "rpc"),
        _ => tracing::info!(method, actor, code, ms, request_id, "rpc"),
    }
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
        Box::pin(async move {
            let started = Instant::now();
            let method = req
                .uri()
                .path()
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string();
            let header = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.to_str().unwrap_or("").to_string());
            let cn = peer_common_name(&req);
            let rid = request_id(&req);
            match authn
                .authorize(&method, header.as_deref(), cn.as_deref())
                .await
            {
                Ok(caller) => {
                    let actor = caller.actor().as_str().to_string();
                    req.extensions_mut().insert::<Caller>(caller);
                    let resp = inner.call(req).await?;
                    log(&method, &actor, &code_of(&resp), &rid, started);
                    Ok(with_request_id(resp, &rid))
                }
                Err(e) => {
                    let status = Status::from(e);
                    log(&method, "-", &format!("{:?}", status.code()), &rid, started);
                    Ok(with_request_id(status.into_http(), &rid))
                }
            }
        })
    }
}
