//! Serving one listener within bounds: a cap on open connections, a deadline for a connection's
//! first request (TLS handshake, HTTP/2 preface and headers included), HTTP/1 header-read and
//! idle timeouts, HTTP/2 keep-alive pings, accept errors logged once per interval, and a drain.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use futures::future::BoxFuture;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use rustls_pki_types::CertificateDer;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::config::ListenerLimits;
use crate::ops::metrics;

/// How long a connection that is closing (idle, or the server draining) may take to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a failing `accept` is logged at most.
const ACCEPT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// What a request knows of its connection (a request extension).
#[derive(Debug, Clone)]
pub(crate) struct ConnInfo {
    /// The peer's address.
    pub(crate) remote: SocketAddr,
    /// The client certificate chain verified by TLS, leaf first (mTLS), if any.
    pub(crate) peer_certs: Option<Arc<Vec<CertificateDer<'static>>>>,
}

/// One listener: its name (a metric label), whether it speaks only HTTP/2 (gRPC), its limits.
#[derive(Debug, Clone)]
pub(crate) struct Listener {
    pub(crate) name: &'static str,
    pub(crate) http2_only: bool,
    pub(crate) limits: ListenerLimits,
}

/// Serves `svc` on `listener` until `shutdown`, then waits for open connections to finish (each
/// is told to close, and dropped after [`DRAIN_TIMEOUT`]).
pub(crate) async fn serve<S, B>(
    spec: Listener,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    svc: S,
    shutdown: CancellationToken,
) where
    S: tower::Service<http::Request<Incoming>, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let limits = spec.limits.clone();
    let builder = Arc::new(builder(&spec));
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let tracker = TaskTracker::new();
    let mut errors = Throttled::default();
    let mut full = Throttled::default();
    loop {
        if permits.available_permits() == 0 {
            metrics::connection_limit_reached(spec.name);
            full.log(|suppressed| {
                tracing::warn!(
                    listener = spec.name,
                    max_connections = limits.max_connections,
                    suppressed,
                    "connection limit reached: new connections wait in the backlog"
                )
            });
        }
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = shutdown.cancelled() => break,
        };
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = shutdown.cancelled() => break,
        };
        let (tcp, remote) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors (or another transient error): back off instead of
                // spinning, and say so once per interval, not once per attempt.
                errors.log(|suppressed| {
                    tracing::error!(listener = spec.name, error = %e, suppressed, "accept failed")
                });
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                    () = shutdown.cancelled() => break,
                }
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (svc, tls, builder, shutdown) =
            (svc.clone(), tls.clone(), builder.clone(), shutdown.clone());
        let (limits, name) = (limits.clone(), spec.name);
        tracker.spawn(async move {
            metrics::open_connections(name, 1.0);
            connection(tcp, remote, tls, svc, &builder, &limits, shutdown).await;
            metrics::open_connections(name, -1.0);
            drop(permit);
        });
    }
    drop(listener);
    tracker.close();
    tracker.wait().await;
}

fn builder(spec: &Listener) -> Builder<TokioExecutor> {
    let l = &spec.limits;
    let mut b = Builder::new(TokioExecutor::new());
    if spec.http2_only {
        b = b.http2_only();
    }
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(l.header_read_timeout_ms))
        .max_buf_size(64 * 1024);
    b.http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_millis(l.keepalive_interval_ms))
        .keep_alive_timeout(Duration::from_millis(l.keepalive_timeout_ms))
        .max_concurrent_streams(l.max_concurrent_streams)
        .max_header_list_size(16 * 1024)
        .max_pending_accept_reset_streams(Some(32))
        .max_local_error_reset_streams(Some(256));
    b
}

/// Serves one connection: TLS first (if any), then HTTP, closing it when no request came within
/// the first-request deadline, when it stayed idle past the idle timeout, or at shutdown.
async fn connection<S, B>(
    tcp: TcpStream,
    remote: SocketAddr,
    tls: Option<TlsAcceptor>,
    svc: S,
    builder: &Builder<TokioExecutor>,
    limits: &ListenerLimits,
    shutdown: CancellationToken,
) where
    S: tower::Service<http::Request<Incoming>, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let first_deadline = Instant::now() + Duration::from_millis(limits.first_request_timeout_ms);
    let state = Arc::new(ConnState::new());
    match tls {
        None => {
            let info = ConnInfo {
                remote,
                peer_certs: None,
            };
            let svc = Tracked::new(svc, state.clone(), info);
            drive(
                TokioIo::new(tcp),
                svc,
                builder,
                &state,
                first_deadline,
                limits,
                shutdown,
            )
            .await
        }
        Some(acceptor) => {
            let handshake = tokio::time::timeout_at(first_deadline, acceptor.accept(tcp));
            let stream = match handshake.await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return tracing::debug!(%remote, error = %e, "TLS handshake failed"),
                Err(_) => return tracing::debug!(%remote, "TLS handshake timed out"),
            };
            let peer_certs =
                stream.get_ref().1.peer_certificates().map(|c| {
                    Arc::new(c.iter().map(|c| c.clone().into_owned()).collect::<Vec<_>>())
                });
            let svc = Tracked::new(svc, state.clone(), ConnInfo { remote, peer_certs });
            drive(
                TokioIo::new(stream),
                svc,
                builder,
                &state,
                first_deadline,
                limits,
                shutdown,
            )
            .await
        }
    }
}

async fn drive<I, S, B>(
    io: TokioIo<I>,
    svc: Tracked<S>,
    builder: &Builder<TokioExecutor>,
    state: &ConnState,
    first_deadline: Instant,
    limits: &ListenerLimits,
    shutdown: CancellationToken,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: tower::Service<http::Request<Incoming>, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let idle = Duration::from_millis(limits.idle_timeout_ms);
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    let mut closing: Option<Instant> = None;
    loop {
        let check = match (closing, state.seen()) {
            (Some(until), _) => until,
            (None, false) => first_deadline,
            (None, true) => state.idle_since() + idle,
        };
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = shutdown.cancelled(), if closing.is_none() => {
                conn.as_mut().graceful_shutdown();
                closing = Some(Instant::now() + DRAIN_TIMEOUT);
            }
            () = tokio::time::sleep_until(check) => match closing {
                // Past the drain deadline, or no request came in time: dropped, which closes it.
                Some(_) => return,
                None if !state.seen() => return,
                None if state.in_flight() == 0 && state.idle_since() + idle <= Instant::now() => {
                    conn.as_mut().graceful_shutdown();
                    closing = Some(Instant::now() + DRAIN_TIMEOUT);
                }
                None => {}
            },
        }
    }
}

/// What the watchdog of a connection knows: whether a request came, how many are in flight
/// (until their response bodies end: a stream is a request in flight), and since when none is.
#[derive(Debug)]
struct ConnState {
    start: Instant,
    seen: AtomicBool,
    in_flight: AtomicUsize,
    /// Milliseconds after `start` when the last request ended (or began).
    idle_since_ms: AtomicU64,
}

impl ConnState {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            seen: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
        }
    }

    fn seen(&self) -> bool {
        self.seen.load(Ordering::Acquire)
    }

    fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    fn idle_since(&self) -> Instant {
        self.start + Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire))
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.idle_since_ms.fetch_max(ms, Ordering::AcqRel);
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.seen.store(true, Ordering::Release);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.touch();
        InFlight(self.clone())
    }
}

/// One request in flight; ends when its response body is dropped.
struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The service of one connection: marks requests in flight and hands them their [`ConnInfo`].
#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    state: Arc<ConnState>,
    info: ConnInfo,
}

impl<S> Tracked<S> {
    fn new(inner: S, state: Arc<ConnState>, info: ConnInfo) -> Self {
        Self { inner, state, info }
    }
}

impl<S, B> hyper::service::Service<http::Request<Incoming>> for Tracked<S>
where
    S: tower::Service<http::Request<Incoming>, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = http::Response<TrackedBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn call(&self, mut req: http::Request<Incoming>) -> Self::Future {
        let guard = self.state.begin();
        req.extensions_mut().insert(self.info.clone());
        let svc = self.inner.clone();
        Box::pin(async move {
            let resp = svc.oneshot(req).await?;
            Ok(resp.map(|b| TrackedBody {
                inner: Body::new(b),
                _guard: guard,
            }))
        })
    }
}

/// A response body that keeps its request in flight until it ends.
pub(crate) struct TrackedBody {
    inner: Body,
    _guard: InFlight,
}

impl http_body::Body for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Something logged at most once per [`ACCEPT_ERROR_LOG_INTERVAL`], with how many times it was
/// left out since.
#[derive(Debug, Default)]
struct Throttled {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttled {
    fn log(&mut self, emit: impl FnOnce(u64)) {
        let now = Instant::now();
        match self.last {
            Some(at) if now.duration_since(at) < ACCEPT_ERROR_LOG_INTERVAL => self.suppressed += 1,
            _ => {
                emit(self.suppressed);
                self.last = Some(now);
                self.suppressed = 0;
            }
        }
    }
}

/// The process's open-file limit raised to its hard limit (as the Go runtime does), checked
/// against what the listeners, the database pool and a reserve need. Returns the soft limit.
pub(crate) fn fit_file_limit(needed: u64) -> anyhow::Result<u64> {
    let (soft, hard) = rlimit::Resource::NOFILE.get()?;
    let soft = match soft < hard {
        true => rlimit::increase_nofile_limit(hard).unwrap_or(soft),
        false => soft,
    };
    anyhow::ensure!(
        soft >= needed,
        "the open-file limit ({soft}) is below what the connection caps need ({needed}: the \
         listeners' max_connections, the database pool and a reserve of {FD_RESERVE}); raise \
         `ulimit -n` or lower [listeners] max_connections"
    );
    Ok(soft)
}

/// File descriptors kept free beyond the listeners' caps and the database pool: outbound calls
/// to Meta, the configuration watcher, log files.
pub(crate) const FD_RESERVE: u64 = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttled_log_line_is_emitted_once_per_interval() {
        let mut t = Throttled::default();
        let mut emitted = Vec::new();
        for _ in 0..5 {
            t.log(|n| emitted.push(n));
        }
        assert_eq!(emitted, vec![0], "once, then counted");
        assert_eq!(t.suppressed, 4);
    }

    #[test]
    fn a_connection_is_idle_only_with_nothing_in_flight() {
        let s = Arc::new(ConnState::new());
        assert!(!s.seen());
        let g = s.begin();
        assert!(s.seen());
        assert_eq!(s.in_flight(), 1);
        drop(g);
        assert_eq!(s.in_flight(), 0);
    }
}
