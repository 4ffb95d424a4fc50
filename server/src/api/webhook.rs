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
use crate::service::Consent;

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

async fn receive_body(c: Consent, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    let pages = c.deps().pages().all();
    let secrets: Vec<&str> = pages.iter().map(|p| p.app_secret.expose()).collect();
    let Some(signer) = signature::signer(secrets.iter().copied(), sig, &body) else {
        tracing::warn!(
            signed = sig.is_some(),
            "webhook refused: bad or missing signature"
        );
        return (StatusCode::FORBIDDEN, "invalid signature");
    };
    let json: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "webhook body is not JSON");
            return (StatusCode::BAD_REQUEST, "unreadable body");
        }
    };
    let parsed = webhook::parse(&json);
    for s in &parsed.skipped {
        tracing::info!(page_id = ?s.page_id, reason = s.reason, "webhook event skipped");
        crate::ops::metrics::webhook_event("unreadable", "skipped", s.reason);
    }
    match c.ingest(parsed, signer).await {
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
