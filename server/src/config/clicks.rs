//! `[clicks]`: tracked links (issue 22). The `web_url` buttons of the listed pages' notifications
//! point at this server's HTTP listener, which records the click and redirects to the URL the
//! send named.

use serde::{Deserialize, Serialize};

use super::Secret;

/// `[clicks]`: which pages' links are tracked, where people's browsers reach the HTTP
/// listener, and the secret the links are signed with.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickSettings {
    /// The pages whose `web_url` buttons become tracked links; empty: none.
    pub pages: Vec<String>,
    /// The URL at which people's browsers reach this server's HTTP listener (for example
    /// `https://otn.shop.example`, behind the same load balancer as the webhook): links point
    /// there.
    pub public_url: Option<String>,
    /// The secret links are signed with (each page's with a key derived from it and the page
    /// id), at least 16 characters; or `secret_file` / `secret_env`. Changing it breaks the
    /// links already sent (they answer 404).
    pub secret: Option<Secret>,
}

/// The shortest link secret accepted.
const SECRET_MIN_CHARS: usize = 16;

/// Replaces `[clicks] secret_file` / `secret_env` with the secret itself.
pub(super) fn resolve_secret(
    table: &mut toml::Table,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let Some(toml::Value::Table(clicks)) = table.get_mut("clicks") else {
        return Ok(());
    };
    let file = clicks.remove("secret_file");
    let var = clicks.remove("secret_env");
    let given = [clicks.contains_key("secret"), file.is_some(), var.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err("configuration: [clicks]: give one of secret, secret_file, secret_env".into());
    }
    let value = match (file, var) {
        (Some(f), _) => {
            let path = f
                .as_str()
                .ok_or("configuration: [clicks]: secret_file is a path")?
                .to_string();
            std::fs::read_to_string(&path)
                .map_err(|e| format!("configuration: [clicks] secret_file {path}: {e}"))?
                .trim_end_matches(['\r', '\n'])
                .to_string()
        }
        (None, Some(v)) => {
            let var = v
                .as_str()
                .ok_or("configuration: [clicks]: secret_env names a variable")?;
            env(var)
                .ok_or_else(|| format!("configuration: [clicks] secret_env: {var} is not set"))?
        }
        (None, None) => return Ok(()),
    };
    clicks.insert("secret".into(), toml::Value::String(value));
    Ok(())
}

impl ClickSettings {
    /// Checks a configuration that tracks pages: a public http(s) URL and a long enough secret.
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.pages.is_empty() {
            return Ok(());
        }
        match self.public_url.as_deref() {
            Some(u) if u.starts_with("https://") || u.starts_with("http://") => {}
            _ => {
                return Err(
                    "configuration: [clicks] tracks pages, so it needs public_url, \
                            the http(s) URL at which browsers reach the HTTP listener"
                        .into(),
                );
            }
        }
        match &self.secret {
            Some(s) if s.expose().chars().count() >= SECRET_MIN_CHARS => Ok(()),
            _ => Err(format!(
                "configuration: [clicks] tracks pages, so it needs a secret of at least \
                 {SECRET_MIN_CHARS} characters (secret, secret_file or secret_env)"
            )),
        }
    }
}
