//! The admin listener's routes: `/metrics` (Prometheus text), `/healthz` (the process is up)
//! and `/readyz` (the database answers, every migration is applied, not draining).

use axum::{Router, extract::State, http::StatusCode, routing::get};
use tokio_util::sync::CancellationToken;

use super::metrics;
use crate::store::Store;

#[derive(Clone)]
struct Probe {
    store: Store,
    draining: CancellationToken,
}

/// The probe and metrics routes (also merged into the webhook listener for `/healthz` and
/// `/readyz`).
pub(crate) fn router(store: Store, draining: CancellationToken) -> Router {
    Router::new()
        .route("/metrics", get(|| async { metrics::render() }))
        .merge(probes(store, draining))
}

/// `/healthz` and `/readyz` alone.
pub(crate) fn probes(store: Store, draining: CancellationToken) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(Probe { store, draining })
}

async fn ready(State(p): State<Probe>) -> (StatusCode, String) {
    if p.draining.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining".into());
    }
    if let Err(e) = p.store.ping().await {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("database: {e}"));
    }
    match p.store.pending_migrations().await {
        Ok(0) => (StatusCode::OK, "ready".into()),
        Ok(n) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{n} migrations pending"),
        ),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("migrations: {e}")),
    }
}
