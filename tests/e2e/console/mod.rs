//! The browser side of the HTTP listener: `/v1/events` over SSE from a plain HTTP client,
//! sessions, the console's JSON, and the console itself in a headless Chromium.

mod browser;
mod sse;
mod views;
mod webdriver;

use std::time::Duration;

use otn_testkit::TestApp;
use serde_json::Value;

/// One server-sent event.
#[derive(Debug, Clone)]
pub(crate) struct SseEvent {
    pub(crate) id: Option<String>,
    pub(crate) data: Value,
}

/// What reading a stream gave.
#[derive(Debug)]
pub(crate) enum Next {
    Event(SseEvent),
    /// The stream's last event, `event: error` (its data: code, reason, message).
    Error(Value),
    End,
    Quiet,
}

/// A response body read as a stream of server-sent events (comments skipped).
pub(crate) struct SseReader {
    resp: reqwest::Response,
    buf: String,
}

impl SseReader {
    pub(crate) fn new(resp: reqwest::Response) -> Self {
        assert_eq!(resp.status(), 200, "the stream opens");
        let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Self {
            resp,
            buf: String::new(),
        }
    }

    /// The next event with data; [`Next::End`] when the server ended the stream, and
    /// [`Next::Quiet`] when nothing came within `within`.
    pub(crate) async fn read(&mut self, within: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut data, mut kind) = (None, String::new(), None);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    } else if let Some(v) = line.strip_prefix("event:") {
                        kind = Some(v.trim().to_string());
                    }
                }
                if !data.is_empty() {
                    let data = serde_json::from_str(&data).expect("data is JSON");
                    if kind.as_deref() == Some("error") {
                        return Next::Error(data);
                    }
                    return Next::Event(SseEvent { id, data });
                }
            }
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Ok(None)) | Ok(Err(_)) => return Next::End,
                Err(_) => return Next::Quiet,
            }
        }
    }

    /// The next event, or `None` when the stream ended or was quiet for `within`.
    pub(crate) async fn next(&mut self, within: Duration) -> Option<SseEvent> {
        match self.read(within).await {
            Next::Event(e) => Some(e),
            Next::Error(_) | Next::End | Next::Quiet => None,
        }
    }

    /// Events until the one with sequence `last` (inclusive), each within `each`.
    pub(crate) async fn until(&mut self, last: i64, each: Duration) -> Vec<SseEvent> {
        let mut out: Vec<SseEvent> = Vec::new();
        while out.last().is_none_or(|e| seq(e) < last) {
            let got = out.last().map(seq);
            let e = self.next(each).await.unwrap_or_else(|| {
                let buf = &self.buf;
                panic!(
                    "no event after {got:?} within {each:?} (waiting for {last}); unread: {buf:?}"
                )
            });
            out.push(e);
        }
        out
    }
}

/// An event's sequence, from its data (an int64 is a JSON string in the proto3 mapping).
pub(crate) fn seq(e: &SseEvent) -> i64 {
    e.data["sequence"]
        .as_str()
        .expect("sequence is a string")
        .parse()
        .unwrap()
}

/// The HTTP base URL of a test server.
pub(crate) fn http(app: &TestApp) -> String {
    format!("http://{}", app.running.http_addr)
}

/// A GET with these headers.
pub(crate) async fn get(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = otn_testkit::meta::http().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request")
}

/// A bearer header value.
pub(crate) fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// The `error.reason` and HTTP status of a refused request.
pub(crate) async fn refusal(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("a JSON error");
    let reason = body["error"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(body["error"]["code"], status, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    (status, reason)
}

/// Opens a session with `key`; returns the `Set-Cookie` header and the `name=value` pair.
pub(crate) async fn open_session(app: &TestApp, key: &str) -> (String, String) {
    let (set, pair, _) = open_session_with_csrf(app, key).await;
    (set, pair)
}

/// As [`open_session`], with the session's CSRF token (from the response body).
pub(crate) async fn open_session_with_csrf(app: &TestApp, key: &str) -> (String, String, String) {
    let resp = otn_testkit::meta::http()
        .post(format!("{}/v1/session", http(app)))
        .header("authorization", bearer(key))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    let pair = set.split(';').next().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    let csrf = body["csrfToken"]
        .as_str()
        .expect("a CSRF token")
        .to_string();
    (set, pair, csrf)
}
