//! The simulator's clock and the configuration it starts with.

use std::{sync::Arc, time::Duration};

/// The simulator's clock: now, in epoch milliseconds. Tests pass the service's own clock so
/// both agree on windows, cooldowns and expiry.
pub type SharedClock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> SharedClock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    })
}

/// How a simulator behaves; build with [`SimulatorConfig::new`] and adjust fields.
#[derive(Clone)]
pub struct SimulatorConfig {
    /// Clock for every time decision (windows, cooldowns, expiry, webhook timestamps).
    pub clock: SharedClock,
    /// Delay added to every Send API answer (after the send is processed).
    pub latency: Duration,
    /// The service's webhook URL; `None` means events are not posted.
    pub webhook_url: Option<String>,
    /// App secret that signs webhooks.
    pub app_secret: String,
    /// Post a `message_deliveries` webhook after each accepted send.
    pub auto_receipts: bool,
    /// Also post a `message_reads` webhook after each accepted send.
    pub auto_reads: bool,
    /// Delay between acceptance and the receipts.
    pub receipt_delay: Duration,
    /// Post a `message_echoes` webhook (with `metadata`) after each accepted send.
    pub echoes: bool,
    /// Answer a send only once its echo was posted (Meta often echoes before answering).
    pub echo_before_answer: bool,
    /// The `app_id` echoes name as the app that sent the message.
    pub app_id: u64,
    /// Whether an OTN opt-in opens the 24-hour window (unverified on Meta's side; default false).
    pub optin_opens_window: bool,
    /// Refuse (100) sends to `recipient.id` without `messaging_type` (default true).
    pub require_messaging_type: bool,
    /// Keep every accepted message for [`Simulator::accepted_messages`] (default true).
    pub record_messages: bool,
    /// Refuse with 613 beyond this many Send API calls per page per second (default off).
    pub page_rate_limit_per_sec: Option<u32>,
    /// Maximum webhook POSTs in flight.
    pub webhook_concurrency: usize,
    /// Attempts for receipt webhooks (Meta retries until it gets a 200).
    pub webhook_attempts: u32,
    /// Pages known from the start: `(page_id, page_access_token)`.
    pub pages: Vec<(String, String)>,
    /// Keep people and tokens in this file across restarts (loaded at start, saved after
    /// changes and at shutdown); `None`: memory only.
    pub state_file: Option<std::path::PathBuf>,
}

impl SimulatorConfig {
    /// Defaults on `clock`: no latency, no webhook, no receipts, messages recorded.
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            latency: Duration::ZERO,
            webhook_url: None,
            app_secret: String::new(),
            auto_receipts: false,
            auto_reads: false,
            receipt_delay: Duration::ZERO,
            echoes: false,
            echo_before_answer: false,
            app_id: 1_517_776_481_860_111,
            optin_opens_window: false,
            require_messaging_type: true,
            record_messages: true,
            page_rate_limit_per_sec: None,
            webhook_concurrency: 64,
            webhook_attempts: 5,
            pages: Vec::new(),
            state_file: None,
        }
    }
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self::new(system_clock())
    }
}

impl std::fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("latency", &self.latency)
            .field("webhook_url", &self.webhook_url)
            .field("pages", &self.pages.len())
            .finish_non_exhaustive()
    }
}
