//! Webhook bodies shaped exactly as Meta documents and sends them, signed posts, and helpers over
//! ListEligible answers.

use otn::v1::{self as pb, ExclusionReason};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{PAGE, TestApp};

/// The `X-Hub-Signature-256` Meta would send for `body` signed with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    otn_simulator::signature_header(secret, body)
}

// ---------------------------------------------------------------------------------------------
// Helpers: bodies exactly as Meta sends them, and the calls a caller would make.
// ---------------------------------------------------------------------------------------------

/// A plain HTTP client that never goes through a proxy.
pub fn http() -> reqwest::Client {
    otn_simulator::install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// One `entry[]` item of the sandbox page.
pub fn entry(time_ms: i64, events: Vec<Value>) -> Value {
    json!({ "id": PAGE, "time": time_ms, "messaging": events })
}

/// The raw bytes of a `{"object":"page","entry":[..]}` envelope.
pub fn envelope(entries: Vec<Value>) -> Vec<u8> {
    json!({ "object": "page", "entry": entries })
        .to_string()
        .into_bytes()
}

/// The raw bytes of an envelope with one entry holding `events`.
pub fn body_of(ts: i64, events: Vec<Value>) -> Vec<u8> {
    envelope(vec![entry(ts, events)])
}

/// An event sent by `psid` to the page, with `key` (optin, message, postback…) set to `v`.
pub fn event(psid: &str, ts: i64, key: &str, v: Value) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("sender".into(), json!({ "id": psid }));
    m.insert("recipient".into(), json!({ "id": PAGE }));
    m.insert("timestamp".into(), ts.into());
    m.insert(key.into(), v);
    Value::Object(m)
}

/// A `messaging_optins` event of a One-Time Notification ("Notify Me" tapped).
pub fn otn_optin(psid: &str, ts: i64, payload: &str, token: &str) -> Value {
    event(
        psid,
        ts,
        "optin",
        json!({ "type": "one_time_notif_req", "payload": payload, "one_time_notif_token": token }),
    )
}

/// A `messaging_optins` event of a marketing-messages opt-in.
pub fn marketing_optin(psid: &str, ts: i64, topic: &str, token: &str) -> Value {
    event(
        psid,
        ts,
        "optin",
        json!({
            "type": "notification_messages",
            "title": "Weekly deals",
            "payload": topic,
            "notification_messages_token": token,
            "token_expiry_timestamp": ts + 365 * 24 * 3_600_000_i64,
            "user_token_status": "NOT_REFRESHED",
            "notification_messages_timezone": "UTC",
        }),
    )
}

/// The `app_id` of the app that sends the test page's messages, as echoes name it.
pub const APP_ID: u64 = 1_517_776_481_860_111;

/// A `message_echoes` event as Meta documents it: the page's own message `mid` to `psid`, sent
/// through the app with `metadata`, stamped `ts` by Meta.
pub fn echo(psid: &str, ts: i64, mid: &str, metadata: Option<&str>, text: &str) -> Value {
    let mut message = json!({ "is_echo": true, "app_id": APP_ID, "mid": mid, "text": text });
    if let Some(m) = metadata {
        message["metadata"] = json!(m);
    }
    json!({
        "sender": { "id": PAGE },
        "recipient": { "id": psid },
        "timestamp": ts,
        "message": message,
    })
}

/// A `message_deliveries` event as Meta documents it (no `timestamp`): `mids` and everything
/// up to `watermark` delivered to `psid`.
pub fn delivery(psid: &str, mids: &[&str], watermark: i64) -> Value {
    let mut d = json!({ "watermark": watermark });
    if !mids.is_empty() {
        d["mids"] = json!(mids);
    }
    json!({ "sender": { "id": psid }, "recipient": { "id": PAGE }, "delivery": d })
}

/// A marketing STOP (`stop`) or RESUME status event for `token`.
pub fn marketing_status(psid: &str, ts: i64, token: &str, stop: bool) -> Value {
    let status = if stop {
        "STOP NOTIFICATIONS"
    } else {
        "RESUME NOTIFICATIONS"
    };
    event(
        psid,
        ts,
        "optin",
        json!({
            "type": "notification_messages",
            "notification_messages_token": token,
            "notification_messages_status": status,
            "token_expiry_timestamp": ts + 365 * 24 * 3_600_000_i64,
            "user_token_status": "NOT_REFRESHED",
            "notification_messages_timezone": "UTC",
        }),
    )
}

/// POSTs `body` to the webhook with `signature` as X-Hub-Signature-256 (none when `None`).
pub async fn post_raw(app: &TestApp, body: Vec<u8>, signature: Option<&str>) -> StatusCode {
    let mut req = http()
        .post(app.webhook_url())
        .header("content-type", "application/json")
        .body(body);
    if let Some(sig) = signature {
        req = req.header("x-hub-signature-256", sig);
    }
    req.send().await.expect("webhook reachable").status()
}

/// POSTs `body` signed with the page's app secret, as Meta would.
pub async fn post_signed(app: &TestApp, body: Vec<u8>) -> StatusCode {
    let sig = sign(&app.app_secret(), &body);
    post_raw(app, body, Some(&sig)).await
}

/// The eligible psids of a ListEligible answer, in order.
pub fn psids(l: &pb::ListEligibleResponse) -> Vec<String> {
    l.recipients
        .iter()
        .map(|e| e.recipient.as_ref().expect("recipient").psid.clone())
        .collect()
}

/// The eligible entry of `psid`.
pub fn of<'a>(l: &'a pb::ListEligibleResponse, psid: &str) -> &'a pb::EligibleRecipient {
    l.recipients
        .iter()
        .find(|e| e.recipient.as_ref().is_some_and(|r| r.psid == psid))
        .unwrap_or_else(|| panic!("{psid} is not eligible: {l:?}"))
}

/// How many recipients were excluded for `reason`.
pub fn excluded(l: &pb::ListEligibleResponse, reason: ExclusionReason) -> i64 {
    l.exclusions
        .iter()
        .filter(|c| c.reason == reason as i32)
        .map(|c| c.count)
        .sum()
}

/// Epoch milliseconds of a protobuf timestamp.
pub fn ms(t: &prost_types::Timestamp) -> i64 {
    t.seconds * 1000 + i64::from(t.nanos) / 1_000_000
}

pub fn opt_in_request(request_id: &str, psid: &str, topic: &str) -> pb::RequestOptInRequest {
    pb::RequestOptInRequest {
        request_id: request_id.into(),
        page_id: PAGE.into(),
        psid: psid.into(),
        topic_key: topic.into(),
        title: "Tell me when it is back".into(),
        payload: format!("caller-ref:{psid}"),
        ..Default::default()
    }
}

/// A RequestOptIn on the test page about `back-in-stock:sku-123`.
pub fn opt_in_req(request_id: &str, psid: &str, title: &str) -> pb::RequestOptInRequest {
    pb::RequestOptInRequest {
        request_id: request_id.into(),
        page_id: PAGE.into(),
        psid: psid.into(),
        topic_key: "back-in-stock:sku-123".into(),
        title: title.into(),
        payload: "sku=123".into(),
        ..Default::default()
    }
}
