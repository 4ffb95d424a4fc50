//! The browser side of the HTTP listener: `/v1/events` (SSE), `/v1/session`, the console's
//! JSON under `/v1/console/` and its embedded page under `/console/`. Reads go through the
//! use cases, and the service's console views (`service::Views`) for what only it shows.

mod assets;
mod auth;
mod export;
mod pbjson;
mod sse;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio_util::sync::CancellationToken;

use crate::access::Authenticator;
use crate::events::Events;
use crate::service::{Consent, Deps, Sending, Views};

/// What the console's handlers share.
#[derive(Debug, Clone)]
pub(crate) struct Console {
    authn: Arc<Authenticator>,
    events: Events,
    sending: Sending,
    consent: Consent,
    /// The console's reads.
    views: Views,
    /// Event streams end when this is cancelled (so a graceful shutdown can finish).
    shutdown: CancellationToken,
    /// Calls without a key are accepted, and the shopper can be played (`/_sim/…`).
    sandbox: bool,
}

impl Console {
    /// The console over the service's use cases and event log.
    pub(crate) fn new(
        authn: Arc<Authenticator>,
        events: Events,
        sending: Sending,
        consent: Consent,
        shutdown: CancellationToken,
        sandbox: bool,
    ) -> Self {
        Self {
            views: Views::new(consent.deps_arc()),
            authn,
            events,
            sending,
            consent,
            shutdown,
            sandbox,
        }
    }

    fn deps(&self) -> &Deps {
        self.consent.deps()
    }

    fn now(&self) -> i64 {
        self.deps().now()
    }
}

/// The routes: `/v1/events`, `/v1/session`, `/v1/console/…` (the funnel and a notification's
/// deliveries export among them) and `/console/`.
pub(crate) fn router(console: Console) -> Router {
    Router::new()
        .route("/v1/events", get(sse::events))
        .route("/v1/session", post(auth::open).delete(auth::close))
        .route("/v1/console/overview", get(views::overview))
        .route("/v1/console/pages", get(views::pages))
        .route("/v1/console/notifications", get(views::notifications))
        .route(
            "/v1/console/notifications/{id}",
            get(views::notification_detail),
        )
        .route("/v1/console/notifications/{id}/cancel", post(views::cancel))
        .route(
            "/v1/console/notifications/{id}/deliveries",
            get(export::deliveries),
        )
        .route("/v1/console/funnel", get(views::funnel))
        .route("/v1/console/topics", get(views::topics))
        .route("/v1/console/sends", get(views::sends))
        .merge(assets::router())
        .with_state(console)
}
