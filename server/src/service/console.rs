//! What the operator console reads: the log's head, pages' pauses and recent rate limits, a
//! page's topics, a notification's failures by Meta's code, sends per second — the console
//! asks these of the service, never of the store.

use std::sync::Arc;

use super::Deps;
use crate::error::Result;
use crate::store::{FailureCount, PageRow, Tally};

/// The console's reads.
#[derive(Debug, Clone)]
pub(crate) struct Views {
    deps: Arc<Deps>,
}

impl Views {
    /// The reads over `deps`.
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// The event log's head.
    pub(crate) async fn log_head(&self) -> Result<i64> {
        self.deps.store().last_event_seq().await
    }

    /// The pause rows of these pages.
    pub(crate) async fn pages(&self, ids: &[String]) -> Result<Vec<PageRow>> {
        self.deps.store().console_pages(ids).await
    }

    /// A page's negative signals (the circuit breaker's) after `since_ms`.
    pub(crate) async fn negative_signals(&self, page_id: &str, since_ms: i64) -> Result<i64> {
        self.deps.store().signals_since(page_id, since_ms).await
    }

    /// Send API calls of these pages refused with Meta's `code` since `since_ms`, per page.
    pub(crate) async fn recent_code(
        &self,
        ids: &[String],
        code: i32,
        since_ms: i64,
    ) -> Result<Tally<std::collections::BTreeMap<String, i64>>> {
        self.deps
            .store()
            .console_recent_code(ids, code, since_ms)
            .await
    }

    /// A page's topics (at most `limit`).
    pub(crate) async fn topics(&self, page_id: &str, limit: u64) -> Result<Vec<String>> {
        self.deps.store().console_topics(page_id, limit).await
    }

    /// A notification's failed deliveries by Meta's reason and code.
    pub(crate) async fn failures(&self, notification_id: &str) -> Result<Vec<FailureCount>> {
        self.deps.store().console_failures(notification_id).await
    }

    /// SENT events per page and second since `since_ms`.
    pub(crate) async fn sends_per_second(
        &self,
        ids: &[String],
        since_ms: i64,
    ) -> Result<Tally<Vec<(String, i64, i64)>>> {
        self.deps
            .store()
            .console_sends_per_second(ids, since_ms)
            .await
    }
}
