//! The Graph API Send client (reqwest) and the classification of Meta's errors (section 7).

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::Secret;

/// A Send API success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub recipient_id: Option<String>,
    pub message_id: String,
}

/// A failed Send API call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
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

/// What to do about a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Temporary; retry with backoff.
    Retry,
    /// Rate limited; retry slower (after the given wait, if Meta said).
    RateLimited(Option<Duration>),
    /// The outcome is unknown (timeout, reset, 5xx); a retry is safe for token sends.
    Ambiguous,
    /// A reusable token inside its cooldown; retry after the cooldown, not now.
    Cooldown,
    /// Outside the 24-hour window.
    OutsideWindow,
    /// The person cannot receive messages, or blocked the page.
    Unreachable,
    /// The person stopped notifications for the topic: the grant is stopped.
    Stopped,
    /// Invalid parameter or invalid/expired/used token.
    InvalidParameter,
    /// The page access token is rejected: pause the page.
    PageToken,
    /// The same opt-in request was sent within a week / too many requests.
    OptInRefused,
    /// Anything else Meta refused.
    Refused,
}

impl GraphError {
    /// Classifies the error as the table in messenger-platform.md section 7 does.
    pub fn class(&self) -> Class {
        let (status, code, subcode, regain) = match self {
            GraphError::Transport(_) => return Class::Ambiguous,
            GraphError::Api {
                status,
                code,
                subcode,
                regain_after,
                ..
            } => (*status, *code, *subcode, *regain_after),
        };
        match (code, subcode) {
            (4, 2018354) => Class::Cooldown,
            (613, 1893016) | (9, 2018352) => Class::OptInRefused,
            (10, 2018278) => Class::OutsideWindow,
            (10, 1893015) => Class::Stopped,
            (10, 2018108) | (551, _) | (200, 1545041) => Class::Unreachable,
            (4 | 613 | 80006 | 17 | 32, _) => Class::RateLimited(regain),
            (1200 | 2, _) => Class::Retry,
            (190, _) => Class::PageToken,
            (100, _) => Class::InvalidParameter,
            _ if status >= 500 => Class::Ambiguous,
            _ => Class::Refused,
        }
    }

    /// A stable reason string for delivery failures.
    pub fn reason(&self) -> &'static str {
        match self.class() {
            Class::Retry => "TEMPORARY",
            Class::RateLimited(_) => "RATE_LIMITED",
            Class::Ambiguous => "UNKNOWN_OUTCOME",
            Class::Cooldown => "COOLDOWN",
            Class::OutsideWindow => "OUTSIDE_WINDOW",
            Class::Unreachable => "UNREACHABLE",
            Class::Stopped => "STOPPED",
            Class::InvalidParameter => "INVALID_PARAMETER",
            Class::PageToken => "PAGE_TOKEN_INVALID",
            Class::OptInRefused => "OPT_IN_REFUSED",
            Class::Refused => "REFUSED",
        }
    }

    /// Meta's (code, subcode), zero for transport errors.
    pub fn codes(&self) -> (i32, i32) {
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
pub struct GraphClient {
    http: reqwest::Client,
    url: String,
}

impl GraphClient {
    /// A client for `{base}/{version}/me/messages` with a per-call timeout.
    pub fn new(base: &str, version: &str, timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|e| format!("graph client: {e}"))?;
        Ok(Self {
            http,
            url: format!("{}/{}/me/messages", base.trim_end_matches('/'), version),
        })
    }

    /// Calls the Send API with the page access token as a bearer header (never in the URL).
    pub async fn send(&self, access_token: &Secret, body: &Value) -> Result<Sent, GraphError> {
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

/// The `one_time_notif_req` template that asks a person for consent.
pub fn opt_in_request_body(psid: &str, title: &str, payload: &str) -> Value {
    json!({
        "recipient": { "id": psid },
        "messaging_type": "RESPONSE",
        "message": { "attachment": { "type": "template", "payload": {
            "template_type": "one_time_notif_req",
            "title": title,
            "payload": payload,
        } } }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: i32, subcode: i32) -> GraphError {
        GraphError::Api {
            status,
            code,
            subcode,
            message: String::new(),
            regain_after: None,
        }
    }

    #[test]
    fn errors_are_classified_as_the_platform_table_says() {
        assert_eq!(api(400, 2, 0).class(), Class::Retry);
        assert_eq!(api(400, 1200, 0).class(), Class::Retry);
        assert_eq!(api(400, 613, 0).class(), Class::RateLimited(None));
        assert_eq!(api(400, 4, 2018354).class(), Class::Cooldown);
        assert_eq!(api(400, 10, 2018278).class(), Class::OutsideWindow);
        assert_eq!(api(400, 10, 1893015).class(), Class::Stopped);
        assert_eq!(api(400, 200, 1545041).class(), Class::Unreachable);
        assert_eq!(api(400, 100, 0).class(), Class::InvalidParameter);
        assert_eq!(api(400, 190, 0).class(), Class::PageToken);
        assert_eq!(api(400, 613, 1893016).class(), Class::OptInRefused);
        assert_eq!(api(502, 0, 0).class(), Class::Ambiguous);
        assert_eq!(
            GraphError::Transport("reset".into()).class(),
            Class::Ambiguous
        );
    }

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
