//! The Graph API Send client (reqwest): one call, its answer or its error as Meta gave it.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::config::Secret;

/// A Send API success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sent {
    pub(crate) recipient_id: Option<String>,
    pub(crate) message_id: String,
}

/// A failed Send API call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GraphError {
    /// Meta answered with an error body.
    #[error("graph api error {code}/{subcode}: {message}")]
    Api {
        status: u16,
        code: i32,
        subcode: i32,
        message: String,
        /// From `X-Business-Use-Case-Usage` `estimated_time_to_regain_access` (minutes).
        regain_after: Option<Duration>,
    },
    /// No answer, or an unreadable one: the message may or may not have been accepted.
    #[error("graph api transport error: {0}")]
    Transport(String),
}

impl GraphError {
    /// Meta's (code, subcode), zero for transport errors.
    pub(crate) fn codes(&self) -> (i32, i32) {
        match self {
            GraphError::Api { code, subcode, .. } => (*code, *subcode),
            GraphError::Transport(_) => (0, 0),
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: i32,
    #[serde(default)]
    error_subcode: i32,
}

#[derive(Deserialize)]
struct SendBody {
    recipient_id: Option<String>,
    message_id: Option<String>,
    mid: Option<String>,
}

/// Reads `estimated_time_to_regain_access` (minutes) from `X-Business-Use-Case-Usage`.
fn regain_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let raw = headers.get("x-business-use-case-usage")?.to_str().ok()?;
    let v: Value = serde_json::from_str(raw).ok()?;
    let minutes = v
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|u| u.get("estimated_time_to_regain_access")?.as_u64())
        .max()?;
    Some(Duration::from_secs(minutes * 60))
}

/// The Send API client: one reqwest client (pooled connections), a base URL and a timeout.
#[derive(Debug, Clone)]
pub(crate) struct GraphClient {
    http: reqwest::Client,
    url: String,
}

impl GraphClient {
    /// A client for `{base}/{version}/me/messages` with a per-call timeout.
    pub(crate) fn new(base: &str, version: &str, timeout: Duration) -> Result<Self, String> {
        crate::tls::install_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            // Every send in flight to a page holds a connection (HTTP/1.1, or streams of one
            // HTTP/2 connection where Meta offers it): keep them all rather than reconnect.
            .pool_max_idle_per_host(usize::MAX)
            .build()
            .map_err(|e| format!("graph client: {e}"))?;
        Ok(Self {
            http,
            url: format!("{}/{}/me/messages", base.trim_end_matches('/'), version),
        })
    }

    /// Calls the Send API with the page access token as a bearer header (never in the URL).
    pub(crate) async fn send(
        &self,
        access_token: &Secret,
        body: &Value,
    ) -> Result<Sent, GraphError> {
        let resp = self
            .http
            .post(&self.url)
            .bearer_auth(access_token.expose())
            .json(body)
            .send()
            .await
            .map_err(|e| GraphError::Transport(without_url(e)))?;
        let status = resp.status();
        let regain = regain_after(resp.headers());
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| GraphError::Transport(without_url(e)))?;
        if status.is_success() {
            let b: SendBody = serde_json::from_slice(&bytes)
                .map_err(|e| GraphError::Transport(format!("unreadable success body: {e}")))?;
            let message_id = b
                .message_id
                .or(b.mid)
                .ok_or_else(|| GraphError::Transport("success body without message_id".into()))?;
            return Ok(Sent {
                recipient_id: b.recipient_id,
                message_id,
            });
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(b) => Err(GraphError::Api {
                status: status.as_u16(),
                code: b.error.code,
                subcode: b.error.error_subcode,
                message: b.error.message,
                regain_after: regain,
            }),
            Err(_) if status.is_server_error() => Err(GraphError::Api {
                status: status.as_u16(),
                code: 0,
                subcode: 0,
                message: format!("HTTP {status}"),
                regain_after: regain,
            }),
            Err(_) => Err(GraphError::Transport(format!(
                "HTTP {status} without error body"
            ))),
        }
    }
}

fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_use_case_usage_gives_the_wait() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "x-business-use-case-usage",
            r#"{"123":[{"type":"messenger","call_count":100,"estimated_time_to_regain_access":3}]}"#
                .parse()
                .unwrap(),
        );
        assert_eq!(regain_after(&h), Some(Duration::from_secs(180)));
    }
}
