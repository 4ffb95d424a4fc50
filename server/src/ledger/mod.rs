//! The consent ledger's use cases: each RPC of the consent side as one method over validated
//! domain values, plus webhook ingestion.

mod inbound;
mod optin;
pub mod send;

use std::{collections::HashMap, sync::Arc};

pub use optin::OptInInput;

use crate::clock::SharedClock;
use crate::config::PageConfig;
use crate::domain::grant::{EligibleQuery, GrantView, NewGrant, RecipientView};
use crate::domain::policy::Policy;
use crate::domain::types::{PageId, Psid, Region, Tag};
use crate::error::{Error, Reason, Result};
use crate::messenger::graph::GraphClient;
use crate::store::{Store, eligible::Eligible, grants::RevokeTarget, ledger::Forgotten};

/// The configured pages, by id.
#[derive(Debug, Default)]
pub struct Pages(HashMap<String, PageConfig>);

impl Pages {
    /// Indexes the pages.
    pub fn new(pages: Vec<PageConfig>) -> Self {
        Self(pages.into_iter().map(|p| (p.page_id.clone(), p)).collect())
    }

    /// The page, or NOT_FOUND.
    pub fn get(&self, page_id: &str) -> Result<&PageConfig> {
        self.0.get(page_id).ok_or_else(|| {
            Error::not_found(
                Reason::PageNotFound,
                format!("page {page_id} is not configured"),
            )
        })
    }

    /// Every page.
    pub fn all(&self) -> impl Iterator<Item = &PageConfig> {
        self.0.values()
    }
}

/// One page of ListEligible.
#[derive(Debug, Clone)]
pub struct EligiblePage {
    pub items: Vec<Eligible>,
    pub next_after: Option<i64>,
    pub total: i64,
    pub exclusions: Vec<(i32, i64)>,
}

/// The consent side of the service.
#[derive(Debug, Clone)]
pub struct Ledger {
    pub store: Store,
    pub clock: SharedClock,
    pub policy: Arc<Policy>,
    pub graph: GraphClient,
    pub pages: Arc<Pages>,
    in_flight: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl Ledger {
    /// Assembles the ledger.
    pub fn new(
        store: Store,
        clock: SharedClock,
        policy: Arc<Policy>,
        graph: GraphClient,
        pages: Arc<Pages>,
    ) -> Self {
        Self {
            store,
            clock,
            policy,
            graph,
            pages,
            in_flight: Default::default(),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Records a grant; `true` when the token was already recorded (nothing changed).
    pub async fn record_opt_in(&self, mut g: NewGrant) -> Result<(GrantView, bool)> {
        self.pages.get(g.page_id.as_str())?;
        if g.expires_ms.is_none() {
            g.expires_ms = self.policy.expiry_ms(g.kind, g.opted_in_ms);
        }
        self.store.record_grant(&g, self.now()).await
    }

    /// One page of the recipients eligible on a topic, after recipient row id `after`.
    pub async fn list_eligible(
        &self,
        mut q: EligibleQuery,
        after: i64,
        page_size: u64,
        explain: bool,
    ) -> Result<EligiblePage> {
        self.pages.get(q.page_id.as_str())?;
        q.now_ms = self.now();
        let Some(topic_id) = self
            .store
            .topic_id(q.page_id.as_str(), q.topic_key.as_str())
            .await?
        else {
            return Ok(EligiblePage {
                items: Vec::new(),
                next_after: None,
                total: 0,
                exclusions: Vec::new(),
            });
        };
        let mut items = self
            .store
            .list_eligible(&q, topic_id, after, page_size + 1)
            .await?;
        let next_after = if items.len() as u64 > page_size {
            items.truncate(page_size as usize);
            items.last().map(|e| e.recipient.id)
        } else {
            None
        };
        let total = self.store.count_eligible(&q, topic_id).await?;
        let exclusions = if explain {
            self.store.count_exclusions(&q, topic_id).await?
        } else {
            Vec::new()
        };
        Ok(EligiblePage {
            items,
            next_after,
            total,
            exclusions,
        })
    }

    /// Records an interaction at `at_ms` (now when None).
    pub async fn record_interaction(
        &self,
        page: &PageId,
        psid: &Psid,
        at_ms: Option<i64>,
    ) -> Result<RecipientView> {
        self.pages.get(page.as_str())?;
        let now = self.now();
        self.store
            .record_interaction(page.as_str(), psid.as_str(), at_ms.unwrap_or(now), now)
            .await
    }

    /// Adds and removes tags, and sets or clears the region.
    pub async fn update_recipient(
        &self,
        page: &PageId,
        psid: &Psid,
        add: &[Tag],
        remove: &[Tag],
        region: Option<Option<Region>>,
    ) -> Result<RecipientView> {
        self.pages.get(page.as_str())?;
        self.store
            .update_recipient(
                page.as_str(),
                psid.as_str(),
                add,
                remove,
                region,
                self.now(),
            )
            .await
    }

    /// Revokes grants; NOT_FOUND when a named grant does not exist.
    pub async fn revoke(&self, target: RevokeTarget) -> Result<Vec<GrantView>> {
        match &target {
            RevokeTarget::Grant(id) => {
                if self.store.grant(*id).await?.is_none() {
                    return Err(Error::not_found(
                        Reason::GrantNotFound,
                        format!("grant {id} does not exist"),
                    ));
                }
            }
            RevokeTarget::Topic { page_id, .. } => {
                self.pages.get(page_id)?;
            }
        }
        self.store.revoke(&target, self.now()).await
    }

    /// Erases a person.
    pub async fn forget(&self, page: &PageId, psid: &Psid) -> Result<Forgotten> {
        self.pages.get(page.as_str())?;
        self.store
            .forget_recipient(page.as_str(), psid.as_str())
            .await
    }
}
