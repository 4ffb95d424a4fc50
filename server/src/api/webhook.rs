//! The Messenger webhook endpoint (axum): the subscription handshake, and signed event delivery
//! answered 200 whenever the signature is valid and the JSON parses.

use axum::{
    Router,
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    routing::get,
};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::messenger::{signature, webhook};
use crate::service::{Consent, Pages};

/// The webhook path at which Meta is configured to call.
pub(crate) const WEBHOOK_PATH: &str = "/webhooks/messenger";

#[derive(Deserialize)]
struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// The webhook routes.
pub(crate) fn router(consent: Consent) -> Router {
    Router::new()
        .route(WEBHOOK_PATH, get(handshake).post(receive))
        .with_state(consent)
}

async fn handshake(State(c): State<Consent>, Query(q): Query<Handshake>) -> (StatusCode, String) {
    let token_ok = q.verify_token.as_deref().is_some_and(|given| {
        c.deps().pages().all().iter().fold(false, |ok, p| {
            ok | bool::from(p.verify_token.expose().as_bytes().ct_eq(given.as_bytes()))
        })
    });
    match (q.mode.as_deref(), token_ok, q.challenge) {
        (Some("subscribe"), true, Some(challenge)) => (StatusCode::OK, challenge),
        _ => (StatusCode::FORBIDDEN, String::new()),
    }
}

async fn receive(
    State(c): State<Consent>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let answer = receive_body(c, headers, body).await;
    crate::ops::metrics::webhook_request(answer.0.as_u16());
    answer
}

/// Distinct app secrets a body may be checked against: a genuine body comes from one app, so
/// one naming pages of more apps than this is refused without computing anything.
const MAX_SECRETS_PER_BODY: usize = 8;

/// Bodies above this size are parsed and verified on the blocking pool (two at a time), so a
/// flood of large bogus bodies never stalls the async threads.
const INLINE_BODY_BYTES: usize = 64 * 1024;

static BLOCKING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// What checking a body found.
enum Checked {
    /// Not JSON.
    Unreadable,
    /// It names no configured page: nothing in it could be applied.
    NoPageOfOurs(webhook::Parsed),
    /// It names pages of too many apps, or the signature matches none of their secrets.
    BadSignature,
    /// Signed with this app secret.
    Signed(webhook::Parsed, String),
}

/// Parses the body and verifies its signature against the secrets of the pages it names: one
/// HMAC per distinct app secret named (usually one), whatever the number of configured pages.
fn check(pages: &Pages, sig: Option<&str>, body: &[u8]) -> Checked {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Checked::Unreadable;
    };
    let parsed = webhook::parse(&json);
    let mut secrets: Vec<String> = Vec::new();
    for id in webhook::entry_page_ids(&json) {
        if let Ok(p) = pages.get(&id) {
            let s = p.app_secret.expose();
            if !secrets.iter().any(|known| known == s) {
                secrets.push(s.to_string());
            }
        }
        if secrets.len() > MAX_SECRETS_PER_BODY {
            return Checked::BadSignature;
        }
    }
    if secrets.is_empty() {
        return Checked::NoPageOfOurs(parsed);
    }
    match signature::signer(secrets.iter().map(String::as_str), sig, body) {
        Some(signer) => {
            let signer = signer.to_string();
            Checked::Signed(parsed, signer)
        }
        None => Checked::BadSignature,
    }
}

async fn receive_body(c: Consent, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let checked = if body.len() <= INLINE_BODY_BYTES {
        check(c.deps().pages(), sig.as_deref(), &body)
    } else {
        let Ok(_permit) = BLOCKING.acquire().await else {
            return (StatusCode::SERVICE_UNAVAILABLE, "retry later");
        };
        let deps = c.clone();
        let sig2 = sig.clone();
        match tokio::task::spawn_blocking(move || {
            check(deps.deps().pages(), sig2.as_deref(), &body)
        })
        .await
        {
            Ok(checked) => checked,
            Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "retry later"),
        }
    };
    let (parsed, signer) = match checked {
        Checked::Unreadable => {
            tracing::warn!("webhook body is not JSON");
            return (StatusCode::BAD_REQUEST, "unreadable body");
        }
        Checked::BadSignature => {
            tracing::warn!(
                signed = sig.is_some(),
                "webhook refused: bad or missing signature"
            );
            return (StatusCode::FORBIDDEN, "invalid signature");
        }
        Checked::NoPageOfOurs(parsed) => {
            // Unverified, and nothing in it is ours: answered 200 so Meta does not retry (or
            // disable the app's webhook) over a page otn no longer serves; nothing applied.
            let n = parsed.events.len() + parsed.skipped.len();
            tracing::info!(
                events = n,
                "webhook body names no configured page; nothing applied"
            );
            crate::ops::metrics::webhook_event("unreadable", "skipped", "page_not_configured");
            return (StatusCode::OK, "EVENT_RECEIVED");
        }
        Checked::Signed(parsed, signer) => (parsed, signer),
    };
    for s in &parsed.skipped {
        tracing::info!(page_id = ?s.page_id, reason = s.reason, "webhook event skipped");
        crate::ops::metrics::webhook_event("unreadable", "skipped", s.reason);
    }
    match c.ingest(parsed, &signer).await {
        Ok(report) => {
            tracing::debug!(
                applied = report.applied.len(),
                skipped = report.skipped.len(),
                "webhook applied"
            );
            (StatusCode::OK, "EVENT_RECEIVED")
        }
        Err(e) => {
            // Meta retries until it gets a 200, and ingestion is idempotent.
            tracing::error!(error = %e, "webhook ingestion failed; Meta will retry");
            (StatusCode::INTERNAL_SERVER_ERROR, "retry later")
        }
    }
}
