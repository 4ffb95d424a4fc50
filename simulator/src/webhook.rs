//! Webhook delivery to the service: signed envelopes, event shapes, receipts and echoes.

use std::{
    sync::{Arc, PoisonError, atomic::Ordering},
    time::Duration,
};

use anyhow::{Context, bail};
use hmac::{Hmac, Mac};
use rand::Rng;
use serde_json::{Value, json};
use sha2::Sha256;

use super::Inner;

/// Where the simulator posts webhooks, and the app secret that signs them.
#[derive(Debug, Clone)]
pub(super) struct WebhookTarget {
    pub url: String,
    pub secret: String,
}

/// The `X-Hub-Signature-256` header value for `body` signed with `app_secret`: `sha256=<hex>`.
pub fn signature_header(app_secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this never falls back in practice.
    match Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::from("sha256="),
    }
}

/// The `{"object":"page","entry":[..]}` envelope around `events` of one page.
pub(super) fn envelope(page_id: &str, time_ms: i64, events: Vec<Value>) -> Vec<u8> {
    json!({
        "object": "page",
        "entry": [ { "id": page_id, "time": time_ms, "messaging": events } ],
    })
    .to_string()
    .into_bytes()
}

fn base(page_id: &str, psid: &str, ts: i64) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("sender".into(), json!({ "id": psid }));
    m.insert("recipient".into(), json!({ "id": page_id }));
    m.insert("timestamp".into(), ts.into());
    m
}

fn with(mut m: serde_json::Map<String, Value>, key: &str, v: Value) -> Value {
    m.insert(key.into(), v);
    Value::Object(m)
}

/// A `message` event: the person wrote `text`.
pub(super) fn message_event(page_id: &str, psid: &str, ts: i64, mid: &str, text: &str) -> Value {
    with(
        base(page_id, psid, ts),
        "message",
        json!({ "mid": mid, "text": text }),
    )
}

/// A `messaging_postbacks` event.
pub(super) fn postback_event(
    page_id: &str,
    psid: &str,
    ts: i64,
    mid: &str,
    title: &str,
    payload: &str,
) -> Value {
    let pb = json!({ "mid": mid, "title": title, "payload": payload });
    with(base(page_id, psid, ts), "postback", pb)
}

/// A `message_reactions` event on message `mid`.
pub(super) fn reaction_event(page_id: &str, psid: &str, ts: i64, mid: &str, emoji: &str) -> Value {
    let r = json!({ "mid": mid, "action": "react", "reaction": "other", "emoji": emoji });
    with(base(page_id, psid, ts), "reaction", r)
}

/// A `message_reads` event.
pub(super) fn read_event(page_id: &str, psid: &str, ts: i64, watermark: i64) -> Value {
    with(
        base(page_id, psid, ts),
        "read",
        json!({ "watermark": watermark }),
    )
}

/// A `message_deliveries` event (no `timestamp`, as in Meta's documentation).
pub(super) fn delivery_event(page_id: &str, psid: &str, mids: &[&str], watermark: i64) -> Value {
    json!({
        "sender": { "id": psid },
        "recipient": { "id": page_id },
        "delivery": { "mids": mids, "watermark": watermark },
    })
}

/// A `messaging_optins` event for a One-Time Notification grant.
pub(super) fn otn_optin_event(
    page_id: &str,
    psid: &str,
    ts: i64,
    payload: &str,
    token: &str,
) -> Value {
    let o =
        json!({ "type": "one_time_notif_req", "payload": payload, "one_time_notif_token": token });
    with(base(page_id, psid, ts), "optin", o)
}

/// A `messaging_optins` event for marketing messages; `optin` is the inner object.
pub(super) fn optin_event(page_id: &str, psid: &str, ts: i64, optin: Value) -> Value {
    with(base(page_id, psid, ts), "optin", optin)
}

/// A `message_echoes` event for a message the page sent through the app `app_id`, as Meta
/// documents it: the page is the sender, the person the recipient, with Meta's timestamp of
/// the message, its mid and the sender's `metadata`.
pub(super) fn echo_event(
    page_id: &str,
    psid: &str,
    ts: i64,
    mid: &str,
    app_id: u64,
    message: &Value,
) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("is_echo".into(), true.into());
    m.insert("app_id".into(), app_id.into());
    m.insert("mid".into(), mid.into());
    for key in ["text", "metadata"] {
        if let Some(v) = message.get(key) {
            m.insert(key.into(), v.clone());
        }
    }
    if let Some(a) = message.get("attachment") {
        m.insert("attachments".into(), json!([a]));
    }
    json!({
        "sender": { "id": page_id },
        "recipient": { "id": psid },
        "timestamp": ts,
        "message": m,
    })
}

impl Inner {
    fn webhook_target(&self) -> Option<WebhookTarget> {
        self.webhook
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Posts `events` of `page_id` once, signed; `Ok(false)` when no webhook is configured.
    pub(super) async fn post_events(
        &self,
        page_id: &str,
        events: Vec<Value>,
    ) -> anyhow::Result<bool> {
        let Some(target) = self.webhook_target() else {
            tracing::debug!(
                page_id,
                "simulator: no webhook configured, event not posted"
            );
            return Ok(false);
        };
        let body = envelope(page_id, self.now(), events);
        let signature = signature_header(&target.secret, &body);
        self.post_signed(&target.url, &signature, body.clone())
            .await?;
        let dup = self.webhook_dup_per_mille.load(Ordering::Relaxed);
        if dup > 0 && rand::rng().random_range(0..1000u32) < dup {
            // Meta may deliver the same event twice; the duplicate's outcome does not matter.
            if let Err(e) = self.post_signed(&target.url, &signature, body).await {
                tracing::debug!(error = %e, "simulator: duplicate webhook failed");
            }
        }
        Ok(true)
    }

    async fn post_signed(&self, url: &str, signature: &str, body: Vec<u8>) -> anyhow::Result<()> {
        let _permit = self
            .webhook_permits
            .acquire()
            .await
            .context("simulator shutting down")?;
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(body)
            .send()
            .await
            .with_context(|| format!("posting webhook to {url}"))?;
        let status = resp.status();
        if !status.is_success() {
            let text = resp.text().await.unwrap_or_default();
            bail!("webhook {url} answered {status}: {text}");
        }
        Ok(())
    }

    /// Posts like Meta: retries with backoff until a 2xx or the attempts run out.
    pub(super) async fn post_events_retrying(&self, page_id: &str, events: Vec<Value>) {
        let attempts = self.settings.webhook_attempts.max(1);
        let mut backoff = Duration::from_millis(200);
        for attempt in 1..=attempts {
            match self.post_events(page_id, events.clone()).await {
                Ok(_) => return,
                Err(e) if attempt == attempts => {
                    tracing::warn!(error = %e, attempt, "simulator: webhook delivery abandoned");
                }
                Err(e) => {
                    tracing::debug!(error = %e, attempt, "simulator: webhook delivery failed, retrying");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = self.shutdown.cancelled() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// Resolves once the echo of an accepted send was posted (or given up).
pub(super) type Posted = tokio::sync::oneshot::Receiver<()>;

/// After an accepted send: posts the echo, delivery and read webhooks that are switched on, in
/// that order. When echoes come before answers, the answer waits for what this returns.
pub(super) fn after_accept(
    inner: &Arc<Inner>,
    page_id: &str,
    psid: &str,
    mid: &str,
    at_ms: i64,
    message: &Value,
) -> Option<Posted> {
    let echo = inner.echoes.load(Ordering::Relaxed);
    let deliver = inner.auto_receipts.load(Ordering::Relaxed);
    let read = inner.auto_reads.load(Ordering::Relaxed);
    if !(echo || deliver || read) || inner.webhook_target().is_none() {
        return None;
    }
    let app_id = inner.settings.app_id;
    let echo_ev = echo.then(|| echo_event(page_id, psid, at_ms, mid, app_id, message));
    let (posted, wait) = tokio::sync::oneshot::channel();
    let first = echo && inner.echo_before_answer.load(Ordering::Relaxed);
    let (inner, page_id, psid, mid) = (
        Arc::clone(inner),
        page_id.to_owned(),
        psid.to_owned(),
        mid.to_owned(),
    );
    let delay = Duration::from_millis(inner.receipt_delay_ms.load(Ordering::Relaxed));
    tokio::spawn(async move {
        if let Some(ev) = echo_ev {
            inner.post_events_retrying(&page_id, vec![ev]).await;
        }
        let _ = posted.send(());
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if deliver {
            let ev = delivery_event(&page_id, &psid, &[mid.as_str()], at_ms);
            inner.post_events_retrying(&page_id, vec![ev]).await;
        }
        if read {
            let ev = read_event(&page_id, &psid, inner.now(), at_ms);
            inner.post_events_retrying(&page_id, vec![ev]).await;
        }
    });
    first.then_some(wait)
}
