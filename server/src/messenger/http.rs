//! The webhook HTTP endpoint (axum): the subscription handshake and signed event delivery.

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Query, State},
    http::{HeaderMap, StatusCode},
    routing::get,
};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{signature, webhook};
use crate::ledger::Ledger;

/// The webhook path at which Meta is configured to call.
pub const WEBHOOK_PATH: &str = "/webhooks/messenger";

#[derive(Clone)]
struct AppState {
    ledger: Ledger,
    secrets: Arc<Vec<String>>,
    verify_tokens: Arc<Vec<String>>,
}

#[derive(Deserialize)]
struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// The webhook router (also serves `/healthz`).
pub fn router(ledger: Ledger, body_limit: usize) -> Router {
    let mut secrets: Vec<String> = ledger
        .pages
        .all()
        .map(|p| p.app_secret.expose().to_string())
        .collect();
    secrets.sort();
    secrets.dedup();
    let verify_tokens = ledger
        .pages
        .all()
        .map(|p| p.verify_token.expose().to_string())
        .collect();
    let state = AppState {
        ledger,
        secrets: Arc::new(secrets),
        verify_tokens: Arc::new(verify_tokens),
    };
    Router::new()
        .route(WEBHOOK_PATH, get(handshake).post(receive))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn handshake(State(s): State<AppState>, Query(q): Query<Handshake>) -> (StatusCode, String) {
    let token_ok = q.verify_token.as_deref().is_some_and(|given| {
        s.verify_tokens.iter().fold(false, |ok, t| {
            ok | bool::from(t.as_bytes().ct_eq(given.as_bytes()))
        })
    });
    match (q.mode.as_deref(), token_ok, q.challenge) {
        (Some("subscribe"), true, Some(challenge)) => (StatusCode::OK, challenge),
        _ => (StatusCode::FORBIDDEN, String::new()),
    }
}

async fn receive(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !signature::verify(s.secrets.iter().map(String::as_str), sig, &body) {
        tracing::warn!(
            signed = sig.is_some(),
            "webhook refused: bad or missing signature"
        );
        return (StatusCode::FORBIDDEN, "invalid signature");
    }
    let events = match webhook::parse(&body) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "webhook body is not a Messenger event");
            return (StatusCode::BAD_REQUEST, "unreadable body");
        }
    };
    match s.ledger.ingest(events).await {
        Ok(()) => (StatusCode::OK, "EVENT_RECEIVED"),
        Err(e) => {
            // Meta retries until it gets a 200, and ingestion is idempotent.
            tracing::error!(error = %e, "webhook ingestion failed; Meta will retry");
            (StatusCode::INTERNAL_SERVER_ERROR, "retry later")
        }
    }
}
