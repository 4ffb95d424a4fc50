//! The expiry sweep's task: every minute, active grants past their expiry time become EXPIRED
//! with a GRANT_EXPIRED event each (counted by the funnel as expired unused), in small
//! transactions. Every replica runs it; a grant is expired once (the update re-checks).

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::service::Insights;

/// How often the sweep runs.
const EVERY: Duration = Duration::from_secs(60);

/// Sweeps every [`EVERY`] until `shutdown`.
pub(crate) fn spawn(insights: Insights, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(EVERY) => {}
            }
            match insights.expire_grants().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "grants expired"),
                Err(e) => tracing::warn!(error = %e, "expiry sweep failed; the next one retries"),
            }
        }
    })
}
