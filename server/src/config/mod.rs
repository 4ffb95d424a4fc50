//! Typed, layered configuration: defaults → TOML file → `OTN_*` environment → flags, layered
//! by config-rs. Every key can come from the environment: `OTN_` and the key, upper case, with
//! `__` between nested keys (`OTN_DISPATCH__BATCH=64`, `OTN_LISTENERS__GRPC__MAX_CONNECTIONS`,
//! `OTN_MESSENGER__SPENT_TOKEN_SUBCODES=1,2`).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use ::config as layered;
use serde::{Deserialize, Serialize};

mod clicks;
mod layers;
mod ops;
mod pages;
mod tls;

pub use layers::{ConfigError, Env};

pub use clicks::ClickSettings;
pub use ops::{ListenerLimits, ListenersSettings, RetentionSettings, TelemetrySettings};
pub use pages::{PageConfig, Politeness, Secret};
pub use tls::{ClientIdentity, TlsSettings};

/// Log output format.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// gRPC listen address (`OTN_GRPC_ADDR`).
    #[serde(default = "d_grpc")]
    pub grpc_addr: SocketAddr,
    /// Webhook HTTP listen address (`OTN_HTTP_ADDR`).
    #[serde(default = "d_http")]
    pub http_addr: SocketAddr,
    /// Admin listener (`OTN_ADMIN_ADDR`): `/metrics`, `/healthz`, `/readyz`. Keep it off the
    /// public network (the webhook listener faces Meta).
    #[serde(default = "ops::d_admin")]
    pub admin_addr: SocketAddr,
    /// Database URL (`OTN_DATABASE_URL`): `sqlite://path?mode=rwc` or `postgres://…`.
    #[serde(default = "d_db")]
    pub database_url: String,
    /// Connection pool size.
    #[serde(default = "d_pool")]
    pub database_max_connections: u32,
    /// Graph API base URL (`OTN_GRAPH_API_BASE`).
    #[serde(default = "d_graph")]
    pub graph_api_base: String,
    /// Graph API version path segment.
    #[serde(default = "d_version")]
    pub graph_api_version: String,
    /// Timeout of one Graph API call, in milliseconds.
    #[serde(default = "d_timeout")]
    pub graph_timeout_ms: u64,
    /// A replacement policy file (the built-in rules otherwise).
    #[serde(default)]
    pub policy_file: Option<PathBuf>,
    /// `text` or `json` (`OTN_LOG_FORMAT`).
    #[serde(default)]
    pub log_format: LogFormat,
    /// How long shutdown waits for in-flight work, in seconds.
    #[serde(default = "d_grace")]
    pub shutdown_grace_secs: u64,
    /// Largest webhook body accepted, in bytes.
    #[serde(default = "d_body")]
    pub webhook_body_limit: usize,
    /// Connection limits and timeouts of each listener (`[listeners]`).
    #[serde(default)]
    pub listeners: ListenersSettings,
    /// Dispatch tuning (`[dispatch]`).
    #[serde(default)]
    pub dispatch: DispatchSettings,
    /// Trace export (`[telemetry]`).
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    /// What is deleted when (`[retention]`).
    #[serde(default)]
    pub retention: RetentionSettings,
    /// What Meta's unverified answers mean (`[messenger]`).
    #[serde(default)]
    pub messenger: MessengerSettings,
    /// Tracked links (`[clicks]`): off unless pages are listed.
    #[serde(default)]
    pub clicks: ClickSettings,
    /// Pages. With none, the server starts only as the sandbox (see [`Config::sandbox`]).
    #[serde(default)]
    pub pages: Vec<PageConfig>,
    /// Run the sandbox on purpose (`--sandbox`, `OTN_SANDBOX`): a sandbox page backed by a
    /// local Messenger simulator, and unauthenticated calls accepted. Without pages and without
    /// any configuration source at all, the server is the sandbox too.
    #[serde(default)]
    pub sandbox: bool,
    /// Where the sandbox keeps its simulator's people and tokens (default: beside a SQLite
    /// database, `<db>.sandbox.json`; none for an in-memory one; on PostgreSQL `otn-sandbox.json`
    /// in the working directory).
    #[serde(default)]
    pub sandbox_state_file: Option<PathBuf>,
    /// TLS on the gRPC listener (`[tls]`); plaintext without it.
    #[serde(default)]
    pub tls: Option<TlsSettings>,
    /// How long a verified API key is trusted before it is looked up again (ms): a revocation
    /// reaches every replica within this long.
    #[serde(default = "d_key_cache")]
    pub api_key_cache_ms: u64,
    /// Whether a configuration file or a database URL was given (set by [`Config::load`]).
    #[serde(skip)]
    pub configured: bool,
    /// How this configuration was loaded, when it came from a file: the server reloads its
    /// pages from the same sources when the file changes or on SIGHUP.
    #[serde(skip)]
    pub reload_from: Option<Overrides>,
}

/// How deliveries are dispatched.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DispatchSettings {
    /// Deliveries claimed per round, per page.
    pub batch: u64,
    /// Send API calls in flight at once, per page (pages never wait for each other).
    pub concurrency: usize,
    /// How far ahead a page's send slots are claimed (ms): claimed deliveries wait at most
    /// this long for their slot.
    pub horizon_ms: u64,
    /// A send that cannot start within this long of its slot (ms) is not sent late (that
    /// could crowd a one-second window): it goes back to the queue for a new slot. Slots are
    /// spaced for 98.5% of the page's rate, so this lateness keeps every one-second window
    /// within the rate: 0.985 × (1 s + 20 ms) = 1.005 s worth of sends.
    pub max_lateness_ms: u64,
    /// Transactions recording outcomes at once (PostgreSQL; SQLite has one writer).
    pub completers: usize,
    /// How long a claim is held before another worker may take it over (ms).
    pub lease_ms: u64,
    /// Attempts before a retryable failure is given up.
    pub max_attempts: i32,
    /// First retry delay (ms); doubles per attempt, with jitter.
    pub backoff_base_ms: u64,
    /// Longest retry delay (ms).
    pub backoff_max_ms: u64,
    /// How often an idle worker looks for due deliveries (ms); wake-ups come sooner.
    pub idle_poll_ms: u64,
    /// How long a page pauses after Meta rejects its access token (ms).
    pub page_pause_ms: u64,
    /// How long SendNotification plans its audience before it answers (ms; it always plans its
    /// first three chunks, 1,500 people, unless this is 0: then nothing inline); a larger
    /// audience is planned by every replica's planner afterwards, in chunks, while the first
    /// sends go.
    pub inline_planning_ms: u64,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            batch: 256,
            concurrency: 256,
            horizon_ms: 200,
            max_lateness_ms: 20,
            completers: 2,
            lease_ms: 30_000,
            max_attempts: 8,
            backoff_base_ms: 500,
            backoff_max_ms: 60_000,
            idle_poll_ms: 200,
            page_pause_ms: 60_000,
            inline_planning_ms: 150,
        }
    }
}

/// Subcodes an operator observed in Meta's token refusals, on top of what Meta documents. Meta
/// documents no subcode for a spent or invalid token: its refusal is code 100 naming the token's
/// field (`(#100) notification_messages_token is invalid`), which otn reads without any
/// configuration. List here code-100 subcodes your app sees for a spent single-use token (after
/// an ambiguous attempt, the message went out) or for an unknown or expired one (the grant is
/// dead). Empty by default.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MessengerSettings {
    /// Subcodes of error 100 that mean "this one-time token was already used".
    pub spent_token_subcodes: Vec<i32>,
    /// Subcodes of error 100 that mean "this token is unknown or expired".
    pub invalid_token_subcodes: Vec<i32>,
}

fn d_grpc() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50051))
}
fn d_http() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn d_db() -> String {
    "sqlite://otn.db?mode=rwc".into()
}
fn d_pool() -> u32 {
    16
}
fn d_graph() -> String {
    "https://graph.facebook.com".into()
}
fn d_version() -> String {
    "v27.0".into()
}
fn d_timeout() -> u64 {
    10_000
}
fn d_grace() -> u64 {
    10
}
fn d_body() -> usize {
    1 << 20
}
fn d_key_cache() -> u64 {
    2_000
}

/// A TOML error as a line number and toml's message with its quoted values hidden: never the
/// source line (it may be an `access_token = "…"` line with a typo).
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let line = e
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    let message = redact_values(e.message());
    match line {
        Some(n) => format!("line {n}: {message}"),
        None => message,
    }
}

/// `message` with every double-quoted value replaced by `"***"` (keys are quoted with
/// backticks by toml and serde, and stay readable).
fn redact_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, part) in parts.enumerate() {
        match i % 2 {
            0 => out.push_str("\"***"),
            _ => {
                out.push('"');
                out.push_str(part);
            }
        }
    }
    out
}

/// Values given on the command line (they win over everything else).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub grpc_addr: Option<String>,
    pub http_addr: Option<String>,
    pub database_url: Option<String>,
    /// `--sandbox`.
    pub sandbox: bool,
}

impl Config {
    /// Loads the configuration: defaults, then the file (`--config` or `OTN_CONFIG`), then
    /// `OTN_*` variables, then flags. Unknown keys are an error (a variable is read only when
    /// its first part names a key: `OTN_URL` and `OTN_API_KEY` are the clients').
    pub fn load(flags: &Overrides, env: &Env) -> Result<Self, ConfigError> {
        let file = flags
            .config_file
            .clone()
            .or_else(|| env.get("OTN_CONFIG").map(PathBuf::from));
        let mut table = match &file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Syntax {
                        path: path.clone(),
                        message: toml_error(&text, &e),
                    })?
            }
            None => toml::Table::new(),
        };
        let configured =
            file.is_some() || flags.database_url.is_some() || env.get("OTN_DATABASE_URL").is_some();
        pages::resolve_secrets(&mut table, &|k: &str| env.get(k))?;
        clicks::resolve_secret(&mut table, &|k: &str| env.get(k))?;
        let origin = file
            .as_ref()
            .map_or_else(String::new, |p| p.display().to_string());
        let mut builder = layered::Config::builder()
            .add_source(layers::FileSource { origin, table })
            .add_source(layers::environment(env));
        for (key, v) in [
            ("grpc_addr", &flags.grpc_addr),
            ("http_addr", &flags.http_addr),
            ("database_url", &flags.database_url),
        ] {
            builder = builder
                .set_override_option(key, v.clone())
                .map_err(layers::error)?;
        }
        if flags.sandbox {
            builder = builder
                .set_override("sandbox", true)
                .map_err(layers::error)?;
        }
        let mut config: Config = builder
            .build()
            .and_then(layered::Config::try_deserialize)
            .map_err(layers::error)?;
        config.configured = configured;
        config.reload_from = file.is_some().then(|| Overrides {
            config_file: file.clone(),
            ..flags.clone()
        });
        config.validate()?;
        Ok(config)
    }

    /// Whether this configuration runs the sandbox: asked for, or no page and no configuration
    /// source at all (the first command of the README). `Err` when pages are missing from a
    /// real configuration: the server must not look healthy while sending into a fake Meta.
    pub fn runs_sandbox(&self) -> Result<bool, String> {
        let sandbox = self.sandbox_or_pages()?;
        if sandbox && !self.database_url.starts_with("sqlite:") {
            return Err(
                "configuration: the sandbox accepts calls without an API key, so it runs \
                        only on its own embedded SQLite database, never on PostgreSQL: drop \
                        the database URL (or use a sqlite: one) or configure [[pages]]"
                    .into(),
            );
        }
        Ok(sandbox)
    }

    fn sandbox_or_pages(&self) -> Result<bool, String> {
        match (self.pages.is_empty(), self.sandbox, self.configured) {
            (false, true, _) => Err(
                "configuration: sandbox is set but pages are configured; use one or the other"
                    .into(),
            ),
            (false, false, _) => Ok(false),
            (true, true, _) | (true, false, false) => Ok(true),
            (true, false, true) => Err(
                "configuration: no page is configured. Add a [[pages]] table (page_id, \
                 access_token, app_secret, verify_token) to the configuration file, or pass \
                 --sandbox (OTN_SANDBOX=1) to try otn against the local Messenger simulator"
                    .into(),
            ),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for p in &self.pages {
            if !seen.insert(&p.page_id) {
                return Err(format!("configuration: page {} is listed twice", p.page_id).into());
            }
            if let Some(problem) = p.politeness.problem() {
                return Err(
                    format!("configuration: page {} politeness: {problem}", p.page_id).into(),
                );
            }
            if p.rate_limit_per_sec == 0 {
                return Err(
                    format!("configuration: page {} has rate_limit_per_sec 0", p.page_id).into(),
                );
            }
        }
        let d = &self.dispatch;
        if d.batch == 0
            || d.concurrency == 0
            || d.lease_ms == 0
            || d.max_attempts < 1
            || d.completers == 0
            || d.horizon_ms == 0
        {
            return Err(ConfigError::Rule(
                "configuration: dispatch batch, concurrency, lease_ms, max_attempts, \
                        horizon_ms and completers must be positive"
                    .into(),
            ));
        }
        self.listeners.validate()?;
        self.clicks.validate()?;
        if self.graph_timeout_ms == 0 {
            return Err(ConfigError::Rule(
                "configuration: graph_timeout_ms must be positive".into(),
            ));
        }
        Ok(())
    }

    /// The Graph API call timeout.
    pub fn graph_timeout(&self) -> Duration {
        Duration::from_millis(self.graph_timeout_ms)
    }
}

#[cfg(test)]
mod tests;
