//! The retention task: every `interval_secs`, deletes what `[retention]` no longer keeps, in
//! small batches with a pause between them, so it never holds up sending.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::metrics;
use crate::config::RetentionSettings;
use crate::error::Result;
use crate::service::Deps;

const DAY_MS: i64 = 24 * 3_600_000;
/// The pause between two batches of one pass.
const BREATHE: Duration = Duration::from_millis(50);

/// Runs batches of `step` until one deletes less than `batch` rows or `stop` fires.
async fn drain<F, Fut>(batch: u64, stop: &CancellationToken, mut step: F) -> Result<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64>>,
{
    let mut total = 0;
    while !stop.is_cancelled() {
        let n = step().await?;
        total += n;
        if n < batch {
            break;
        }
        tokio::time::sleep(BREATHE).await;
    }
    Ok(total)
}

/// The tables a pass deletes from (the `table` label of `otn_retention_deleted_total`).
pub(crate) const TABLES: [&str; 8] = [
    "deliveries",
    "notifications",
    "events",
    "opt_in_requests",
    "grants",
    "early_receipts",
    "token_statuses",
    "console_sessions",
];

/// One pass at `now_ms`; what it deleted, by table.
pub(crate) async fn pass(
    deps: &Deps,
    r: &RetentionSettings,
    now_ms: i64,
    stop: &CancellationToken,
) -> Result<Vec<(&'static str, u64)>> {
    let store = deps.store();
    let before = |days: u32| now_ms - i64::from(days) * DAY_MS;
    let mut out = Vec::new();
    let (mut deliveries, mut notifications) = (0, 0);
    let n_before = before(r.notifications_days);
    while !stop.is_cancelled() {
        let (d, n) = store.prune_notifications(n_before, r.batch).await?;
        (deliveries, notifications) = (deliveries + d, notifications + n);
        if n < r.batch {
            break;
        }
        tokio::time::sleep(BREATHE).await;
    }
    out.push(("deliveries", deliveries));
    out.push(("notifications", notifications));
    let e_before = before(r.events_days);
    out.push((
        "events",
        drain(r.batch, stop, || store.prune_events(e_before, r.batch)).await?,
    ));
    let o_before = before(r.opt_in_requests_days);
    let o = drain(r.batch, stop, || {
        store.prune_opt_in_requests(o_before, r.batch)
    })
    .await?;
    out.push(("opt_in_requests", o));
    let g_before = before(r.dead_grants_days);
    out.push((
        "grants",
        drain(r.batch, stop, || store.prune_dead_grants(g_before, r.batch)).await?,
    ));
    out.extend(store.prune_orphans(before(r.events_days)).await?);
    // Expired console sessions: nothing of them is kept past their expiry.
    out.push((
        "console_sessions",
        store.delete_expired_sessions(now_ms).await?,
    ));
    for (table, n) in &out {
        debug_assert!(TABLES.contains(table), "{table} is not a metric label");
        metrics::retention_deleted(table, *n);
    }
    Ok(out)
}

/// Runs a pass every `interval_secs` until `shutdown` (nothing when retention is off).
pub(crate) fn spawn(
    deps: Arc<Deps>,
    r: RetentionSettings,
    shutdown: CancellationToken,
) -> Option<JoinHandle<()>> {
    if !r.enabled {
        return None;
    }
    Some(tokio::spawn(async move {
        let every = Duration::from_secs(r.interval_secs.max(1));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            match pass(&deps, &r, deps.now(), &shutdown).await {
                Ok(deleted) if deleted.iter().any(|(_, n)| *n > 0) => {
                    tracing::info!(?deleted, "retention pass");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention pass failed; next pass retries"),
            }
        }
    }))
}
