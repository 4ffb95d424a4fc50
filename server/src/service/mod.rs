//! The use cases, over validated domain values: the consent side ([`Consent`]: opt-ins, grants,
//! recipients, webhook ingestion) and the sending side ([`Sending`]), sharing one [`Deps`].

mod consent;
mod console;
mod group_commit;
mod inbound;
mod insights;
mod opt_in;
mod planner;
mod sending;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub(crate) use consent::{Consent, OptInInput, grant_not_found};
pub(crate) use console::Views;
pub(crate) use inbound::KINDS as WEBHOOK_KINDS;
pub(crate) use insights::{FunnelOf, FunnelQuery, Insights};
pub(crate) use planner::Planner;
pub(crate) use sending::Sending;

use crate::clock::SharedClock;
use crate::config::PageConfig;
use crate::domain::links::Links;
use crate::domain::policy::Policy;
use crate::error::{Error, Reason, Result};
use crate::messenger::errors::Classifier;
use crate::messenger::graph::GraphClient;
use crate::store::Store;

/// The configured pages, by id; replaced whole when the configuration is reloaded, so a
/// reader always sees one consistent set.
#[derive(Debug, Default)]
pub(crate) struct Pages(RwLock<Arc<HashMap<String, Arc<PageConfig>>>>);

impl Pages {
    /// Indexes the pages.
    pub(crate) fn new(pages: Vec<PageConfig>) -> Self {
        let p = Self::default();
        p.replace(pages);
        p
    }

    /// Swaps in a new set of pages (disabled ones are left out: nothing is sent for them and
    /// their webhook events are skipped).
    pub(crate) fn replace(&self, pages: Vec<PageConfig>) {
        let map = pages
            .into_iter()
            .filter(|p| p.enabled)
            .map(|p| (p.page_id.clone(), Arc::new(p)))
            .collect();
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(map);
    }

    fn snapshot(&self) -> Arc<HashMap<String, Arc<PageConfig>>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The page, or NOT_FOUND.
    pub(crate) fn get(&self, page_id: &str) -> Result<Arc<PageConfig>> {
        self.snapshot().get(page_id).cloned().ok_or_else(|| {
            Error::not_found(
                Reason::PageNotFound,
                format!("page {page_id} is not configured"),
            )
        })
    }

    /// Every page.
    pub(crate) fn all(&self) -> Vec<Arc<PageConfig>> {
        self.snapshot().values().cloned().collect()
    }
}

/// What every use case works with.
#[derive(Debug)]
pub(crate) struct Deps {
    store: Store,
    clock: SharedClock,
    policy: Arc<Policy>,
    graph: GraphClient,
    classifier: Classifier,
    pages: Arc<Pages>,
    links: Option<Links>,
}

impl Deps {
    /// Assembles the dependencies.
    pub(crate) fn new(
        store: Store,
        clock: SharedClock,
        policy: Arc<Policy>,
        graph: GraphClient,
        classifier: Classifier,
        pages: Arc<Pages>,
        links: Option<Links>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            clock,
            policy,
            graph,
            classifier,
            pages,
            links,
        })
    }

    /// The tracked links of the pages that have them (`[clicks]`), if any.
    pub(crate) fn links(&self) -> Option<&Links> {
        self.links.as_ref()
    }

    /// The repository.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Now, in epoch milliseconds, by the service's clock.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The dated platform rules.
    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The Send API client.
    pub(crate) fn graph(&self) -> &GraphClient {
        &self.graph
    }

    /// What Meta's errors mean.
    pub(crate) fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// The configured pages.
    pub(crate) fn pages(&self) -> &Pages {
        &self.pages
    }

    /// Counts a negative signal of a page for its circuit breaker; past the page's threshold in
    /// its window the page's notification sends pause (on every replica) until an operator
    /// resumes them. A page no longer configured is left alone.
    pub(crate) async fn signal(
        &self,
        page_id: &str,
        signal: crate::domain::polite::Signal,
    ) -> crate::error::Result<()> {
        let Ok(page) = self.pages.get(page_id) else {
            return Ok(());
        };
        let p = &page.politeness;
        crate::ops::metrics::negative_signal(page_id, signal.name());
        let window_ms = (p.breaker_window_secs as i64).saturating_mul(1000);
        let (count, tripped) = self
            .store
            .record_signal(page_id, signal, self.now(), p.breaker_threshold, window_ms)
            .await?;
        if tripped {
            crate::ops::metrics::breaker_tripped(page_id, true);
            tracing::warn!(
                page_id,
                count,
                threshold = p.breaker_threshold,
                window_secs = p.breaker_window_secs,
                "circuit breaker tripped: the page's notification sends are paused until an \
                 operator resumes them (ResumePage)"
            );
        }
        Ok(())
    }
}
