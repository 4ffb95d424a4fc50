//! Managing API keys from the server binary (`otn-server api-key …`) against the database the
//! server uses: create (the key is shown once), list, revoke, rotate.

use std::time::Duration;

use chrono::{TimeZone, Utc};

use super::keys::{self, KeyRecord};
use super::scopes::Scope;
use crate::clock::{Clock, SystemClock};
use crate::store::Store;

/// A key to create.
#[derive(Debug, Clone, Default)]
pub struct NewApiKey {
    /// The caller's name, recorded on everything the key does.
    pub name: String,
    /// `read`, `consent`, `send`, `erase`.
    pub scopes: Vec<String>,
    /// The pages the key may act on; empty: every page.
    pub pages: Vec<String>,
}

/// A key as `api-key list` shows it: never the key, never its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub name: String,
    /// The public id inside the key (`otn_<id>_…`), to tell keys of one name apart.
    pub key_id: String,
    pub scopes: Vec<String>,
    /// Empty: every page.
    pub pages: Vec<String>,
    pub created: String,
    pub last_used: Option<String>,
    /// When a rotated key stops working.
    pub expires: Option<String>,
    pub revoked: Option<String>,
}

fn time(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map_or_else(|| ms.to_string(), |t| t.to_rfc3339())
}

async fn open(database_url: &str) -> anyhow::Result<Store> {
    Store::migrate(database_url).await?;
    Ok(Store::open(database_url, 2).await?)
}

fn record(k: &NewApiKey, now_ms: i64) -> anyhow::Result<(String, KeyRecord)> {
    keys::valid_name(&k.name).map_err(anyhow::Error::msg)?;
    if k.scopes.is_empty() {
        anyhow::bail!("give at least one --scope (read, consent, send, erase)");
    }
    let mut scopes = k
        .scopes
        .iter()
        .map(|s| Scope::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    scopes.sort();
    scopes.dedup();
    if let Some(p) = k.pages.iter().find(|p| p.is_empty() || p.contains(',')) {
        anyhow::bail!("page id {p:?} is not a page id");
    }
    let (key, key_id, secret_sha256) = keys::generate();
    let pages = (!k.pages.is_empty()).then(|| k.pages.clone());
    let r = KeyRecord {
        name: k.name.clone(),
        key_id,
        secret_sha256,
        scopes,
        pages,
        created_ms: now_ms,
        last_used_ms: None,
        expires_ms: None,
        revoked_ms: None,
    };
    Ok((key, r))
}

/// Creates a key and returns it (the only time it is ever shown). A name already held by a
/// live key is refused: rotate it instead.
pub async fn create_api_key(database_url: &str, k: &NewApiKey) -> anyhow::Result<String> {
    let store = open(database_url).await?;
    let now = SystemClock.now_ms();
    let taken = store
        .api_keys()
        .await?
        .iter()
        .any(|r| r.name == k.name && r.live(now) && r.expires_ms.is_none());
    if taken {
        anyhow::bail!(
            "a live key named {} exists: `api-key rotate {}` replaces it, `api-key revoke {}` ends it",
            k.name,
            k.name,
            k.name
        );
    }
    let (key, r) = record(k, now)?;
    store.insert_api_key(&r).await?;
    store.close().await;
    Ok(key)
}

/// Every key, revoked and expired ones included.
pub async fn list_api_keys(database_url: &str) -> anyhow::Result<Vec<ApiKeyInfo>> {
    let store = open(database_url).await?;
    let keys = store.api_keys().await?;
    store.close().await;
    Ok(keys
        .into_iter()
        .map(|r| ApiKeyInfo {
            name: r.name,
            key_id: r.key_id,
            scopes: r.scopes.iter().map(|s| s.as_str().to_string()).collect(),
            pages: r.pages.unwrap_or_default(),
            created: time(r.created_ms),
            last_used: r.last_used_ms.map(time),
            expires: r.expires_ms.map(time),
            revoked: r.revoked_ms.map(time),
        })
        .collect())
}

/// Revokes every key named `name`; returns how many were live. Every server stops accepting
/// them within its key cache time (`api_key_cache_ms`, 2 s by default).
pub async fn revoke_api_key(database_url: &str, name: &str) -> anyhow::Result<u64> {
    let store = open(database_url).await?;
    let n = store.revoke_api_keys(name, SystemClock.now_ms()).await?;
    store.close().await;
    Ok(n)
}

/// Replaces the keys named `name` with a new one of the same scopes and pages, returned; the
/// old keys keep working for `grace`, so callers can move to the new key without a gap.
pub async fn rotate_api_key(
    database_url: &str,
    name: &str,
    grace: Duration,
) -> anyhow::Result<String> {
    let store = open(database_url).await?;
    let now = SystemClock.now_ms();
    let current = store
        .api_keys()
        .await?
        .into_iter()
        .filter(|r| r.name == name && r.live(now))
        .max_by_key(|r| r.created_ms)
        .ok_or_else(|| anyhow::anyhow!("no live key named {name}"))?;
    let template = NewApiKey {
        name: name.to_string(),
        scopes: current
            .scopes
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
        pages: current.pages.clone().unwrap_or_default(),
    };
    store
        .expire_api_keys(name, now + grace.as_millis() as i64)
        .await?;
    let (key, r) = record(&template, now)?;
    store.insert_api_key(&r).await?;
    store.close().await;
    Ok(key)
}

/// Applies the database migrations (what every server also does on start).
pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    Store::migrate(database_url).await?;
    println!(
        "migrations applied to {}",
        crate::store::redact_url(database_url)
    );
    Ok(())
}

/// Checks the configuration as a start would (pages or the sandbox, the policy file, TLS
/// files, client identities) and returns it as TOML with every secret redacted.
pub fn check_config(config: &crate::config::Config) -> anyhow::Result<String> {
    let sandbox = config.runs_sandbox().map_err(anyhow::Error::msg)?;
    if let Some(path) = &config.policy_file {
        crate::domain::policy::Policy::parse(&std::fs::read_to_string(path)?)
            .map_err(|e| anyhow::anyhow!("policy_file {}: {e}", path.display()))?;
    }
    if let Some(tls) = &config.tls {
        crate::tls::acceptor(tls)?;
        for id in &tls.clients {
            for s in &id.scopes {
                Scope::parse(s)
                    .map_err(|e| anyhow::anyhow!("tls client {}: {e}", id.common_name))?;
            }
        }
    }
    let mut shown = config.clone();
    shown.database_url = crate::store::redact_url(&config.database_url);
    let text = toml::to_string_pretty(&shown)?;
    let mode = match sandbox {
        true => "# mode: sandbox (local simulator; calls without an API key accepted)\n",
        false => "# mode: production (every call needs an API key or a client certificate)\n",
    };
    Ok(format!("# the configuration is valid\n{mode}{text}"))
}
