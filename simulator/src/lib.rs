//! otn-simulator: a Messenger Platform stand-in for tests, the benchmark and the sandbox: a real HTTP
//! Send API on 127.0.0.1 that also drives the service's webhook.

mod config;
mod control;
mod errors;
mod faults;
mod payload;
mod people;
mod persist;
mod send;
mod state;
#[cfg(test)]
mod tests;
mod webhook;

use std::{
    net::SocketAddr,
    sync::{
        Arc, PoisonError, RwLock,
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::serve::ListenerExt;
use tokio_util::sync::CancellationToken;

pub use config::{SharedClock, SimulatorConfig, system_clock};
pub use errors::*;
pub use faults::Fault;
pub use state::{AcceptedMessage, GrantKind, OptInRequestSent, SimStats};
pub use webhook::signature_header;

/// Settings fixed at start.
#[derive(Debug)]
struct Settings {
    optin_opens_window: bool,
    require_messaging_type: bool,
    record_messages: bool,
    page_rate_limit_per_sec: Option<u32>,
    webhook_attempts: u32,
    app_id: u64,
}

/// Shared state behind every clone of a [`Simulator`] and every request handler.
struct Inner {
    clock: SharedClock,
    base_url: String,
    world: state::World,
    faults: faults::Faults,
    latency_us: AtomicU64,
    webhook: RwLock<Option<webhook::WebhookTarget>>,
    webhook_dup_per_mille: AtomicU32,
    auto_receipts: AtomicBool,
    auto_reads: AtomicBool,
    echoes: AtomicBool,
    echo_before_answer: AtomicBool,
    receipt_delay_ms: AtomicU64,
    settings: Settings,
    http: reqwest::Client,
    webhook_permits: tokio::sync::Semaphore,
    shutdown: CancellationToken,
    state_file: Option<std::path::PathBuf>,
}

impl Inner {
    /// Now, by the simulator clock.
    fn now(&self) -> i64 {
        (self.clock)()
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// A running Messenger Platform simulator; cheap to clone.
///
/// The simulator answers `POST /{version}/me/messages` and `POST /{version}/{page_id}/messages`
/// like Meta's Send API (see `shared/messenger-platform.md`): page-token auth (190), payload
/// validation (100), the 24-hour window (10/2018278), single-use One-Time Notification tokens,
/// marketing tokens with their 48 h cooldown (4/2018354) and STOP (10/1893015), opt-in request
/// rules (613/1893016) and retired tags. Simulated people send signed webhooks to the service
/// (`X-Hub-Signature-256`), and accepted sends can be followed by delivery/read receipts and echoes.
/// Faults (rate limits, 5xx, timeouts, dropped connections, refusals) can be queued or drawn at a
/// rate. All time decisions use the configured [`SharedClock`]. A JSON control API lives under
/// `/_sim/` for tests that run the service as a separate process.
///
/// Simulator-chosen details (Meta's behaviour is unverified): a second send with a spent OTN token
/// answers code 100 without a subcode, [`TOKEN_USED_MESSAGE`]; an unknown token `(#100)
/// <field> is invalid` and an expired one `(#100) <field> has expired`, naming the recipient's
/// token field as Meta's 2026 error table words token refusals; an OTN opt-in opens the window
/// only when [`SimulatorConfig::optin_opens_window`] is set; a grant send carrying a `tag` is
/// refused with 100.
#[derive(Debug, Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

/// The most of `times` (epoch ms, any order) within any span of `window_ms`.
pub fn busiest_window(times: &[i64], window_ms: i64) -> usize {
    let mut t = times.to_vec();
    t.sort_unstable();
    let (mut best, mut start) = (0, 0);
    for end in 0..t.len() {
        while t[end] - t[start] >= window_ms {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Installs ring as the process's rustls provider (once; later calls change nothing): reqwest
/// is built without one of its own, and every client needs it.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Simulator {
    /// Binds `addr` (port 0 allowed), then serves in a background task until [`Simulator::shutdown`];
    /// ready when this returns.
    pub async fn start(addr: SocketAddr, config: SimulatorConfig) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .pool_max_idle_per_host(config.webhook_concurrency)
            .build()
            .map_err(std::io::Error::other)?;
        let webhook = config.webhook_url.map(|url| webhook::WebhookTarget {
            url,
            secret: config.app_secret,
        });
        let inner = Arc::new(Inner {
            clock: config.clock,
            base_url: format!("http://{local}"),
            world: state::World::new(),
            faults: faults::Faults::default(),
            latency_us: AtomicU64::new(micros(config.latency)),
            webhook: RwLock::new(webhook),
            webhook_dup_per_mille: AtomicU32::new(0),
            auto_receipts: AtomicBool::new(config.auto_receipts),
            auto_reads: AtomicBool::new(config.auto_reads),
            echoes: AtomicBool::new(config.echoes),
            echo_before_answer: AtomicBool::new(config.echo_before_answer),
            receipt_delay_ms: AtomicU64::new(millis(config.receipt_delay)),
            settings: Settings {
                optin_opens_window: config.optin_opens_window,
                require_messaging_type: config.require_messaging_type,
                record_messages: config.record_messages,
                page_rate_limit_per_sec: config.page_rate_limit_per_sec,
                webhook_attempts: config.webhook_attempts,
                app_id: config.app_id,
            },
            http,
            webhook_permits: tokio::sync::Semaphore::new(config.webhook_concurrency.max(1)),
            shutdown: CancellationToken::new(),
            state_file: config.state_file.clone(),
        });
        for (page_id, token) in &config.pages {
            inner.world.add_page(page_id, token);
        }
        // Restoring re-counts as changes; the saver starts from here.
        if let Some(path) = &config.state_file {
            persist::load(&inner, path)?;
            persist::spawn(Arc::clone(&inner), path.clone());
        }
        let router = send::router()
            .merge(control::router())
            .with_state(Arc::clone(&inner));
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::trace!(error = %e, "simulator: set_nodelay failed");
            }
        });
        let stop = inner.shutdown.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "simulator: server stopped");
            }
        });
        tracing::debug!(%local, "simulator: listening");
        Ok(Simulator { inner })
    }

    /// Root URL, e.g. `http://127.0.0.1:40123`; the Send API is `{base_url}/v23.0/me/messages`.
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// The JSON control API (`/_sim/…`) as a router of its own, to serve on another listener
    /// (the service's HTTP listener in sandbox mode). Without the routes that re-target the
    /// simulator (`/_sim/webhook`, `/_sim/pages`): served beside a service, it posts only to the
    /// webhook it was started with, so nobody can make the service's host call another URL.
    pub fn control_router(&self) -> axum::Router {
        control::shopper_router().with_state(Arc::clone(&self.inner))
    }

    /// Revokes a page access token (a rotated one): sends with it answer 190 from now on.
    pub fn revoke_access_token(&self, access_token: &str) {
        self.inner.world.remove_token(access_token);
    }

    /// Stops accepting connections and abandons pending webhook retries.
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
        self.inner.webhook_permits.close();
        if let Some(path) = &self.inner.state_file {
            persist::save(&self.inner, path);
        }
    }

    /// Now, by the simulator clock (epoch ms).
    pub fn now_ms(&self) -> i64 {
        self.inner.now()
    }

    /// Registers a page and one of its page access tokens.
    pub fn add_page(&self, page_id: &str, access_token: &str) {
        self.inner.world.add_page(page_id, access_token);
    }

    /// Sets where webhooks go and the app secret that signs them.
    pub fn set_webhook(&self, url: String, app_secret: String) {
        let target = webhook::WebhookTarget {
            url,
            secret: app_secret,
        };
        *self
            .inner
            .webhook
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(target);
    }

    /// Stops posting webhooks.
    pub fn clear_webhook(&self) {
        *self
            .inner
            .webhook
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Switches the delivery and read receipts that follow accepted sends.
    pub fn set_auto_receipts(&self, deliveries: bool, reads: bool) {
        self.inner
            .auto_receipts
            .store(deliveries, Ordering::Relaxed);
        self.inner.auto_reads.store(reads, Ordering::Relaxed);
    }

    /// Switches `message_echoes` webhooks after accepted sends.
    pub fn set_echoes(&self, on: bool) {
        self.inner.echoes.store(on, Ordering::Relaxed);
    }

    /// Whether a Send API answer waits until its message's echo was posted (Meta often echoes
    /// a message before the Send API answers); echoes must be on.
    pub fn set_echo_before_answer(&self, on: bool) {
        self.inner.echo_before_answer.store(on, Ordering::Relaxed);
    }

    /// Posts each webhook a second time at this rate (per mille), like Meta's duplicate deliveries.
    pub fn set_webhook_duplicate_rate(&self, per_mille: u32) {
        self.inner
            .webhook_dup_per_mille
            .store(per_mille.min(1000), Ordering::Relaxed);
    }

    /// Sets the delay added to every Send API answer.
    pub fn set_latency(&self, d: Duration) {
        self.inner.latency_us.store(micros(d), Ordering::Relaxed);
    }

    /// Queues faults; each incoming send consumes one, in order, before random faults apply.
    pub fn inject(&self, faults: Vec<Fault>) {
        self.inner.faults.inject(faults);
    }

    /// Draws `fault` at random for this share (per mille) of sends; 0 switches that kind off.
    pub fn set_fault_rate(&self, fault: Fault, per_mille: u32) {
        self.inner.faults.set_rate(fault, per_mille);
    }

    /// Removes queued faults and fault rates.
    pub fn clear_faults(&self) {
        self.inner.faults.clear();
    }

    /// Faults still waiting in the queue.
    pub fn queued_faults(&self) -> usize {
        self.inner.faults.queued()
    }

    /// How many sends were accepted with this grant token (at most 1 for an OTN token).
    pub fn accepted_for_token(&self, token: &str) -> u32 {
        self.inner
            .world
            .with_token(token, |e| e.accepted)
            .unwrap_or(0)
    }

    /// Every accepted send, in acceptance order (empty if `record_messages` is off).
    pub fn accepted_messages(&self) -> Vec<AcceptedMessage> {
        self.inner.world.accepted_messages()
    }

    /// When each Send API call for `page_id` arrived, oldest first (kept while messages are
    /// recorded).
    pub fn call_times(&self, page_id: &str) -> Vec<i64> {
        self.inner
            .world
            .page_by_id(page_id)
            .map(|p| p.call_times())
            .unwrap_or_default()
    }

    /// The most Send API calls for `page_id` that arrived within any `window_ms` (a sliding
    /// window): what Meta's per-second limit is measured against.
    pub fn busiest_window(&self, page_id: &str, window_ms: i64) -> usize {
        busiest_window(&self.call_times(page_id), window_ms)
    }

    /// Number of accepted sends.
    pub fn accepted_count(&self) -> u64 {
        self.inner.world.accepted_total()
    }

    /// Accepted total and per-token counts.
    pub fn stats(&self) -> SimStats {
        SimStats {
            accepted_total: self.inner.world.accepted_total(),
            per_token: self.inner.world.per_token(),
        }
    }

    /// Opt-in request templates accepted for this person, oldest first.
    pub fn opt_in_requests_sent(&self, page_id: &str, psid: &str) -> Vec<OptInRequestSent> {
        self.inner
            .world
            .read_person(page_id, psid, |p| p.requests.clone())
            .unwrap_or_default()
    }

    /// Whether this person's 24-hour window is open now.
    pub fn window_open(&self, page_id: &str, psid: &str) -> bool {
        let now = self.inner.now();
        self.inner
            .world
            .read_person(page_id, psid, |p| {
                p.last_action_ms.is_some_and(|t| now < t + send::DAY_MS)
            })
            .unwrap_or(false)
    }
}
