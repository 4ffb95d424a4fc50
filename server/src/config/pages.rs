//! The pages the service sends for, and their secrets (inline, from a file, or from the environment).

use serde::{Deserialize, Serialize};

/// A secret string: never printed, never logged.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(v: impl Into<String>) -> Self {
        Self(v.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Serialised (by `check-config`) as `[redacted]`.
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A Facebook page the service sends for (a tenant).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PageConfig {
    /// The page id.
    pub page_id: String,
    /// The page access token used for the Send API.
    pub access_token: Secret,
    /// The app secret that signs webhooks (`X-Hub-Signature-256`).
    pub app_secret: Secret,
    /// The verify token of the webhook subscription handshake.
    pub verify_token: Secret,
    /// The page's own region (ISO 3166-1 alpha-2), if it matters for policy.
    #[serde(default)]
    pub region: Option<String>,
    /// Send API calls per second for this page.
    #[serde(default = "default_rate")]
    pub rate_limit_per_sec: u32,
    /// A disabled page is kept in the configuration but not served: nothing is sent for it,
    /// its webhook events are skipped, its RPCs answer NOT_FOUND.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// How often and when one person may be messaged (`[pages.politeness]`).
    #[serde(default)]
    pub politeness: Politeness,
}

/// A page's politeness: a frequency cap per person and quiet hours in the person's time zone.
/// Every field has a default, so a page without the table is polite too.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Politeness {
    /// At most this many notifications to one person per `frequency_window_secs`, across the
    /// page's topics (0: no cap). A send may override it.
    pub frequency_cap: u32,
    /// The cap's rolling window, in seconds.
    pub frequency_window_secs: u64,
    /// The quiet window in each person's local time, `HH:MM-HH:MM` (empty: none). Deliveries
    /// that would land inside it wait for its end; a send may opt out.
    pub quiet_hours: String,
    /// The page's IANA time zone, for people whose own zone is unknown. Unset: such people have
    /// no quiet hours (the service cannot tell when their night is).
    pub time_zone: Option<String>,
    /// The circuit breaker: this many negative signals (STOPs, blocks, policy enforcement) within
    /// `breaker_window_secs` pause the page's notification sends until an operator resumes them
    /// (ResumePage); 0: never.
    pub breaker_threshold: u32,
    /// The breaker's rolling window, in seconds.
    pub breaker_window_secs: u64,
}

impl Default for Politeness {
    fn default() -> Self {
        Self {
            frequency_cap: 3,
            frequency_window_secs: 86_400,
            quiet_hours: "21:00-08:00".into(),
            time_zone: None,
            breaker_threshold: 100,
            breaker_window_secs: 3_600,
        }
    }
}

impl Politeness {
    /// No cap, no quiet hours, no breaker (what a page had before politeness; tests that are
    /// about something else).
    pub fn off() -> Self {
        Self {
            frequency_cap: 0,
            quiet_hours: String::new(),
            breaker_threshold: 0,
            ..Self::default()
        }
    }

    /// Why this is not a valid politeness, if it is not.
    pub(crate) fn problem(&self) -> Option<String> {
        if !(60..=2_592_000).contains(&self.frequency_window_secs) {
            return Some("frequency_window_secs must be 60 to 2592000 (30 days)".into());
        }
        if !(60..=2_592_000).contains(&self.breaker_window_secs) {
            return Some("breaker_window_secs must be 60 to 2592000 (30 days)".into());
        }
        if !self.quiet_hours.is_empty()
            && let Err(e) = crate::domain::polite::QuietHours::parse(&self.quiet_hours)
        {
            return Some(e);
        }
        match &self.time_zone {
            Some(z) if !crate::domain::polite::known_zone(z) => {
                Some(format!("time_zone `{z}` is not an IANA time zone"))
            }
            _ => None,
        }
    }
}

fn default_enabled() -> bool {
    true
}

fn default_rate() -> u32 {
    300
}

/// The page secrets that may come from elsewhere than the configuration text.
const SECRETS: [&str; 3] = ["access_token", "app_secret", "verify_token"];

/// Replaces each page's `<secret>_file` / `<secret>_env` with the secret itself (read from the
/// file, trailing newline dropped, or from the variable), so the TOML need not hold it.
/// Exactly one source per secret.
pub(super) fn resolve_secrets(
    table: &mut toml::Table,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let Some(toml::Value::Array(pages)) = table.get_mut("pages") else {
        return Ok(());
    };
    for (i, page) in pages.iter_mut().enumerate() {
        let Some(page) = page.as_table_mut() else {
            continue;
        };
        let name = page
            .get("page_id")
            .and_then(|v| v.as_str())
            .map_or_else(|| format!("#{}", i + 1), str::to_string);
        for key in SECRETS {
            let (file_key, env_key) = (format!("{key}_file"), format!("{key}_env"));
            let file = page.remove(&file_key);
            let var = page.remove(&env_key);
            let given = [page.contains_key(key), file.is_some(), var.is_some()];
            if given.iter().filter(|g| **g).count() > 1 {
                return Err(format!(
                    "configuration: page {name}: give one of {key}, {file_key}, {env_key}"
                ));
            }
            let value = match (file, var) {
                (Some(f), _) => {
                    let path = f
                        .as_str()
                        .ok_or_else(|| format!("configuration: page {name}: {file_key} is a path"))?
                        .to_string();
                    let text = std::fs::read_to_string(&path).map_err(|e| {
                        format!("configuration: page {name}: {file_key} {path}: {e}")
                    })?;
                    text.trim_end_matches(['\r', '\n']).to_string()
                }
                (None, Some(v)) => {
                    let var = v.as_str().ok_or_else(|| {
                        format!("configuration: page {name}: {env_key} names a variable")
                    })?;
                    env(var).ok_or_else(|| {
                        format!("configuration: page {name}: {env_key}: {var} is not set")
                    })?
                }
                (None, None) => continue,
            };
            page.insert(key.into(), toml::Value::String(value));
        }
    }
    Ok(())
}
