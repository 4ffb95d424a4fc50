//! The shoppers of an example on a sandbox server: each writes to the page and taps "Notify
//! me" for the example's topic, through the simulator's control API on the server's HTTP
//! listener, so an example has someone to tell on a fresh sandbox.

use std::io::Write;

use super::BoxError;

/// An HTTP client. reqwest is built without a rustls provider of its own (the workspace has one,
/// ring): it is installed as the process default first.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// The sandbox server's HTTP listener: `OTN_SANDBOX_URL`, or `http://127.0.0.1:8080`.
pub fn url_from_env() -> String {
    std::env::var("OTN_SANDBOX_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_string())
}

/// Has `psids` opt in to `topic` on `page` at the sandbox at `sandbox_url`; `Ok(false)` when
/// that server serves no sandbox (a real deployment: its page has real opt-ins).
pub async fn opt_in_shoppers(
    sandbox_url: &str,
    page: &str,
    topic: &str,
    psids: &[&str],
    out: &mut (dyn Write + Send),
) -> Result<bool, BoxError> {
    let http = http_client();
    let base = sandbox_url.trim_end_matches('/');
    for psid in psids {
        for (path, body) in [
            (
                "message",
                serde_json::json!({ "page_id": page, "psid": psid, "text": "Hi!" }),
            ),
            (
                "notify_me",
                serde_json::json!({ "page_id": page, "psid": psid, "payload": topic }),
            ),
        ] {
            let resp = match http
                .post(format!("{base}/_sim/{path}"))
                .json(&body)
                .send()
                .await
            {
                Ok(r) => r,
                Err(_) => {
                    writeln!(
                        out,
                        "no sandbox at {sandbox_url}: using the page's own opt-ins"
                    )?;
                    return Ok(false);
                }
            };
            if resp.status() == reqwest::StatusCode::NOT_FOUND {
                writeln!(
                    out,
                    "{sandbox_url} is not a sandbox: using the page's own opt-ins"
                )?;
                return Ok(false);
            }
            if !resp.status().is_success() {
                return Err(format!("the sandbox refused {path}: {}", resp.status()).into());
            }
        }
        writeln!(out, "sandbox: {psid} asked to be told about {topic}")?;
    }
    Ok(true)
}
