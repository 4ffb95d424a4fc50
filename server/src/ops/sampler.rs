//! Gauges read from the database every few seconds (the queue per page and state, page pauses,
//! the pool, the event log's ends) and grants per state every minute, so a scrape never runs
//! a query and a large table is never scanned per scrape.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::metrics;
use crate::domain::vocab::{DeliveryState, GrantState};
use crate::service::Deps;

/// How often the queue, pauses, pool and log are sampled.
const EVERY: Duration = Duration::from_secs(5);
/// Grants are counted every this many samples.
const GRANTS_EVERY: u32 = 12;

fn state_name(s: DeliveryState) -> &'static str {
    match s {
        DeliveryState::Queued => "queued",
        DeliveryState::Sending => "sending",
        _ => "other",
    }
}

fn grant_name(s: GrantState) -> &'static str {
    match s {
        GrantState::Active => "active",
        GrantState::Reserved => "reserved",
        GrantState::Consumed => "consumed",
        GrantState::Expired => "expired",
        GrantState::Revoked => "revoked",
        GrantState::Stopped => "stopped",
        GrantState::Invalid => "invalid",
    }
}

async fn sample(deps: &Deps, round: u32) -> crate::error::Result<()> {
    let store = deps.store();
    let mut open: HashMap<(String, &'static str), u64> = HashMap::new();
    for page in deps.pages().all().iter() {
        for s in ["queued", "sending"] {
            open.insert((page.page_id.clone(), s), 0);
        }
    }
    for (page, state, n) in store.open_deliveries().await? {
        open.insert((page, state_name(state)), n);
    }
    for ((page, state), n) in open {
        metrics::open_deliveries(&page, state, n);
    }
    let now = deps.now();
    for (page, until, reason) in store.page_pauses().await? {
        if deps.pages().get(&page).is_err() {
            continue;
        }
        let left = until.map_or(0.0, |u| ((u - now) as f64 / 1000.0).max(0.0));
        metrics::page_paused(&page, left > 0.0, left);
        let tripped = left > 0.0 && reason.as_deref() == Some(crate::domain::polite::BREAKER_PAUSE);
        metrics::breaker_tripped(&page, tripped);
    }
    let (in_use, idle) = store.pool_use();
    metrics::db_connections(in_use, idle);
    let (head, pruned) = store.log_bounds().await?;
    metrics::event_log(head, pruned + 1);
    if round.is_multiple_of(GRANTS_EVERY) {
        for (state, n) in store.grant_counts().await? {
            metrics::grants(grant_name(state), n);
        }
    }
    Ok(())
}

/// Samples until `shutdown`.
pub(crate) fn spawn(deps: Arc<Deps>, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut round = 0u32;
        loop {
            if let Err(e) = sample(&deps, round).await {
                tracing::debug!(error = %e, "metrics sample failed");
            }
            round = round.wrapping_add(1);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(EVERY) => {}
            }
        }
    })
}
