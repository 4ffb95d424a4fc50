//! The consent side's use cases: recording grants, listing who is eligible, windows, tags and
//! regions, revocation, assignment of unassigned grants, and erasure.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::Deps;
use super::group_commit::OptInWriter;
use crate::clock::SharedClock;
use crate::domain::erasure::person_key;
use crate::domain::grant::{EligibleQuery, GrantView, NewGrant, RecipientView, RevokeTarget};
use crate::domain::notification::Actor;
use crate::domain::values::{PageId, Payload, Psid, Region, RequestId, Tag, Title, TopicKey};
use crate::domain::vocab::{ExclusionReason, OptInTemplate};
use crate::error::{Error, Reason, Result};
use crate::store::{Eligible, Forgotten};

/// One page of ListEligible.
#[derive(Debug, Clone)]
pub(crate) struct EligiblePage {
    pub(crate) items: Vec<Eligible>,
    /// The recipient row id the next page starts after.
    pub(crate) next_after: Option<i64>,
    /// Every eligible person, when asked for.
    pub(crate) total: Option<i64>,
    pub(crate) exclusions: Vec<(ExclusionReason, i64)>,
}

/// A validated RequestOptIn.
#[derive(Debug, Clone)]
pub(crate) struct OptInInput {
    pub(crate) request_id: RequestId,
    pub(crate) page_id: PageId,
    pub(crate) psid: Psid,
    pub(crate) topic_key: TopicKey,
    pub(crate) title: Title,
    pub(crate) payload: Payload,
    /// The template asked for; `None` lets the dated regional policy choose.
    pub(crate) template: Option<OptInTemplate>,
    pub(crate) marketing: crate::messenger::wire::MarketingFields,
}

/// The consent side of the service.
#[derive(Debug, Clone)]
pub(crate) struct Consent {
    pub(super) deps: Arc<Deps>,
    /// Opt-in requests being sent by this process (a second call with the same request id
    /// waits for the first's answer instead of sending twice).
    pub(super) in_flight: Arc<Mutex<HashSet<String>>>,
    /// Opt-ins are recorded in shared transactions.
    writer: OptInWriter,
}

impl Consent {
    /// The consent side over `deps`; opt-ins are recorded by `writers` group-commit writers.
    pub(crate) fn new(deps: Arc<Deps>, clock: SharedClock, writers: usize) -> Self {
        Self {
            writer: OptInWriter::start(deps.store().clone(), clock, writers),
            deps,
            in_flight: Arc::default(),
        }
    }

    /// The dependencies (for the adapters' conversions: windows, now).
    pub(crate) fn deps(&self) -> &Deps {
        &self.deps
    }

    /// The dependencies, shared (for the other services the adapters build).
    pub(crate) fn deps_arc(&self) -> Arc<Deps> {
        self.deps.clone()
    }

    /// Records a grant; `true` when the token was already recorded (nothing changed).
    pub(crate) async fn record_opt_in(
        &self,
        mut g: NewGrant,
        actor: &Actor,
    ) -> Result<(GrantView, bool)> {
        let page = self.deps.pages().get(g.page_id.as_str())?;
        g.erasure_key = Some(person_key(page.app_secret.expose(), g.psid.as_str()));
        if g.expires_ms.is_none() {
            g.expires_ms = self.deps.policy().expiry_ms(g.kind, g.opted_in_ms);
        }
        self.writer.record(g, actor.clone()).await
    }

    /// One page of the people eligible on a topic, after recipient row id `after`; the total
    /// when `total` is `Some(None)` (count it) or `Some(Some(n))` (carried by the page token).
    pub(crate) async fn list_eligible(
        &self,
        q: EligibleQuery,
        after: i64,
        page_size: u64,
        explain: bool,
        total: Option<Option<i64>>,
    ) -> Result<EligiblePage> {
        self.deps.pages().get(q.page_id.as_str())?;
        let now = self.deps.now();
        let store = self.deps.store();
        let Some(topic_id) = store.topic_id(&q.page_id, &q.topic_key).await? else {
            return Ok(EligiblePage {
                items: Vec::new(),
                next_after: None,
                total: total.map(|_| 0),
                exclusions: Vec::new(),
            });
        };
        let mut items = store
            .list_eligible(&q, topic_id, after, page_size + 1, now)
            .await?;
        let next_after = if items.len() as u64 > page_size {
            items.truncate(page_size as usize);
            items.last().map(|e| e.recipient.id)
        } else {
            None
        };
        let total = match total {
            Some(None) => Some(store.count_eligible(&q, topic_id, now).await?),
            other => other.flatten(),
        };
        let exclusions = match explain {
            true => store.count_exclusions(&q, topic_id, now).await?,
            false => Vec::new(),
        };
        Ok(EligiblePage {
            items,
            next_after,
            total,
            exclusions,
        })
    }

    /// Records an interaction at `at_ms` (now when None).
    pub(crate) async fn record_interaction(
        &self,
        page: &PageId,
        psid: &Psid,
        at_ms: Option<i64>,
    ) -> Result<RecipientView> {
        self.deps.pages().get(page.as_str())?;
        let now = self.deps.now();
        self.deps
            .store()
            .record_interaction(page, psid, at_ms.unwrap_or(now), now)
            .await
    }

    /// Adds and removes tags, and sets or clears the region and the time zone.
    pub(crate) async fn update_recipient(
        &self,
        page: &PageId,
        psid: &Psid,
        add: &[Tag],
        remove: &[Tag],
        region: Option<Option<Region>>,
        time_zone: Option<Option<String>>,
    ) -> Result<RecipientView> {
        self.deps.pages().get(page.as_str())?;
        self.deps
            .store()
            .update_recipient(page, psid, add, remove, region, time_zone, self.deps.now())
            .await
    }

    /// Revokes grants; NOT_FOUND when a named grant or person does not exist.
    pub(crate) async fn revoke(
        &self,
        target: RevokeTarget,
        actor: &Actor,
    ) -> Result<Vec<GrantView>> {
        let store = self.deps.store();
        match &target {
            RevokeTarget::Grant(id) => {
                if store.grant(*id).await?.is_none() {
                    return Err(grant_not_found(*id));
                }
            }
            RevokeTarget::Topic { page_id, psid, .. } => {
                self.deps.pages().get(page_id.as_str())?;
                if store
                    .recipient(page_id.as_str(), psid.as_str())
                    .await?
                    .is_none()
                {
                    return Err(Error::not_found(
                        Reason::RecipientNotFound,
                        format!("page {page_id} does not know this person"),
                    ));
                }
            }
        }
        store.revoke(&target, actor, self.deps.now()).await
    }

    /// The page a grant belongs to (for authorisation before acting on it by id).
    pub(crate) async fn grant_page(&self, id: i64) -> Result<Option<String>> {
        Ok(self.deps.store().grant(id).await?.map(|g| g.page_id))
    }

    /// Assigns an unassigned grant to a topic.
    pub(crate) async fn assign(
        &self,
        id: i64,
        topic: &TopicKey,
        title: Option<Title>,
        actor: &Actor,
    ) -> Result<GrantView> {
        let store = self.deps.store();
        let Some(g) = store.grant(id).await? else {
            return Err(grant_not_found(id));
        };
        if g.topic_key != TopicKey::UNASSIGNED {
            return Err(Error::field(
                "grant_id",
                format!("is not an unassigned grant (its topic is {})", g.topic_key),
            ));
        }
        let title = title.unwrap_or_else(|| topic.default_title());
        store
            .assign_grant(id, topic, &title, actor, self.deps.now())
            .await?
            .ok_or_else(|| Error::Aborted("the grant was assigned concurrently; retry".into()))
    }

    /// Erases a person.
    pub(crate) async fn forget(
        &self,
        page: &PageId,
        psid: &Psid,
        actor: &Actor,
    ) -> Result<Forgotten> {
        let config = self.deps.pages().get(page.as_str())?;
        let key = person_key(config.app_secret.expose(), psid.as_str());
        self.deps
            .store()
            .forget_recipient(page, psid, &key, actor, self.deps.now())
            .await
    }
}

/// The answer about a grant id that does not exist (or that the caller may not see).
pub(crate) fn grant_not_found(id: i64) -> Error {
    Error::not_found(Reason::GrantNotFound, format!("grant {id} does not exist"))
}
