//! Test harness for the simulator: a started simulator, a Send API client and a webhook receiver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod faults;
mod grants;
mod send_api;
mod webhooks;

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use axum::{Router, body::Bytes, http::HeaderMap, routing::post};
use chrono::TimeZone;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

use super::{Simulator, SimulatorConfig};

pub(super) const PAGE: &str = "1001";
pub(super) const PAGE_TOKEN: &str = "page-token-1001";
pub(super) const SECRET: &str = "app-secret";

/// A clock frozen at a time until advanced.
pub(super) struct FrozenClock(AtomicI64);

impl FrozenClock {
    fn advance(&self, by: chrono::Duration) {
        self.0.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }
}

/// A started simulator on a frozen clock, with one page.
pub(super) struct Harness {
    pub sim: Simulator,
    pub clock: Arc<FrozenClock>,
    pub http: reqwest::Client,
}

/// 2026-06-01T12:00:00Z: after the tag retirement.
pub(super) fn june_2026() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

pub(super) async fn harness_at(
    at: chrono::DateTime<chrono::Utc>,
    tweak: impl FnOnce(&mut SimulatorConfig),
) -> Harness {
    let clock = Arc::new(FrozenClock(AtomicI64::new(at.timestamp_millis())));
    let now = clock.clone();
    let mut config = SimulatorConfig::new(Arc::new(move || now.0.load(Ordering::SeqCst)));
    config.pages.push((PAGE.into(), PAGE_TOKEN.into()));
    tweak(&mut config);
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    Harness { sim, clock, http }
}

pub(super) async fn harness() -> Harness {
    harness_at(june_2026(), |_| {}).await
}

impl Harness {
    pub(crate) fn url(&self) -> String {
        format!("{}/v23.0/me/messages", self.sim.base_url())
    }

    /// Sends `body` with the page token; answers (status, JSON body).
    pub(crate) async fn send(&self, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}?access_token={PAGE_TOKEN}", self.url()))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    pub(crate) fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }
}

/// `(code, subcode)` of a Graph error body.
pub(super) fn codes(body: &Value) -> (i64, Option<i64>) {
    let e = &body["error"];
    assert_eq!(e["type"], "OAuthException", "{body}");
    assert!(e["fbtrace_id"].is_string(), "{body}");
    assert!(e["message"].is_string(), "{body}");
    (e["code"].as_i64().unwrap(), e["error_subcode"].as_i64())
}

pub(super) fn text_to(psid: &str, text: &str) -> Value {
    json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE", "message": { "text": text } })
}

pub(super) fn otn_send(token: &str, text: &str) -> Value {
    json!({ "recipient": { "one_time_notif_token": token }, "message": { "text": text } })
}

pub(super) fn marketing_send(token: &str, text: &str) -> Value {
    json!({ "recipient": { "notification_messages_token": token }, "message": { "text": text } })
}

/// A webhook receiver that checks every signature and hands over the parsed bodies.
pub(super) struct Hook {
    pub url: String,
    rx: mpsc::UnboundedReceiver<Value>,
}

pub(super) async fn hook() -> Hook {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/webhook",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let sig = headers
                    .get("x-hub-signature-256")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
                mac.update(&body);
                let hex_sig = sig.strip_prefix("sha256=").unwrap_or_default();
                let raw = hex::decode(hex_sig).unwrap_or_default();
                if mac.verify_slice(&raw).is_err() {
                    return axum::http::StatusCode::FORBIDDEN;
                }
                tx.send(serde_json::from_slice::<Value>(&body).unwrap())
                    .unwrap();
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Hook { url, rx }
}

impl Hook {
    /// The next correctly signed webhook body (fails after 5 s).
    pub(crate) async fn next(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(5), self.rx.recv())
            .await
            .expect("no webhook within 5 s")
            .expect("receiver closed")
    }

    /// The single messaging event of the next webhook, after checking the envelope.
    pub(crate) async fn next_event(&mut self) -> Value {
        let body = self.next().await;
        assert_eq!(body["object"], "page");
        let entry = &body["entry"][0];
        assert_eq!(entry["id"], PAGE);
        assert!(entry["time"].is_i64());
        entry["messaging"][0].clone()
    }
}

#[test]
fn the_busiest_window_counts_calls_in_any_span() {
    assert_eq!(super::busiest_window(&[], 1000), 0);
    assert_eq!(super::busiest_window(&[0, 999, 1000, 1999], 1000), 2);
    assert_eq!(super::busiest_window(&[5, 1, 3, 1200, 1201], 1000), 3);
}
