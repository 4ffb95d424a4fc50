//! What a shop decides by (issue 22): the consent funnel of a topic or of a notification from
//! the maintained counts, tracked links (check, count, redirect), one notification's deliveries
//! for an export, and the expiry sweep that makes grants' expiries events.

use std::sync::Arc;

use super::Deps;
use crate::access::Caller;
use crate::domain::funnel::{self, Funnel};
use crate::domain::links;
use crate::domain::values::{NotificationId, PageId, TopicKey};
use crate::error::{Error, Reason, Result};
use crate::store::ExportRow;

/// Whose funnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FunnelOf {
    /// A page's topic.
    Topic { page: PageId, topic: TopicKey },
    /// One notification.
    Notification(NotificationId),
}

/// A funnel read: whose, and the days (`None`: the defaults of [`funnel::resolve_range`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FunnelQuery {
    pub(crate) of: FunnelOf,
    pub(crate) first_day: Option<i64>,
    pub(crate) last_day: Option<i64>,
}

/// Days a topic's funnel covers by default (the last 30, today included).
const TOPIC_DEFAULT_DAYS: i64 = 30;

/// Ids per window of an export's reads.
const EXPORT_WINDOW: i64 = 2_000;

/// Grants expired per transaction of the sweep.
const EXPIRY_BATCH: u64 = 500;

/// The insight use cases.
#[derive(Debug, Clone)]
pub(crate) struct Insights {
    deps: Arc<Deps>,
}

fn range_error((field, why): (&'static str, String)) -> Error {
    Error::field(field, why)
}

impl Insights {
    /// The use cases over `deps`.
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// The funnel `q` asks for, if the caller may see it.
    pub(crate) async fn funnel(&self, q: FunnelQuery, caller: &Caller) -> Result<Funnel> {
        let store = self.deps.store();
        let today = funnel::day_of(self.deps.now());
        match q.of {
            FunnelOf::Topic { page, topic } => {
                caller.may_act_on(page.as_str())?;
                self.deps.pages().get(page.as_str())?;
                let (first, last) = funnel::resolve_range(q.first_day, q.last_day, today, |last| {
                    last - TOPIC_DEFAULT_DAYS + 1
                })
                .map_err(range_error)?;
                let rows = store
                    .funnel_of_topic(page.as_str(), topic.as_str(), first, last)
                    .await?;
                Ok(Funnel::from_rows(
                    page.into_string(),
                    topic.to_string(),
                    None,
                    first,
                    last,
                    rows,
                ))
            }
            FunnelOf::Notification(id) => {
                let not_found = || {
                    Error::not_found(
                        Reason::NotificationNotFound,
                        format!("notification {} does not exist", id.as_str()),
                    )
                };
                // Where it was counted (the counts outlive the notification's row, which
                // retention deletes); else the notification itself, counted nowhere yet.
                let (page, topic, counted_from) = match store.funnel_counted(id.as_str()).await? {
                    Some(c) => (c.page_id, c.topic_key, c.first_day),
                    None => {
                        let n = store
                            .notification(id.as_str())
                            .await?
                            .ok_or_else(not_found)?;
                        (n.page_id, n.topic_key, today)
                    }
                };
                caller.may_see(&page, not_found)?;
                let (first, last) =
                    funnel::resolve_range(q.first_day, q.last_day, today, |_| counted_from)
                        .map_err(range_error)?;
                let rows = store
                    .funnel_of_notification(id.as_str(), first, last)
                    .await?;
                Ok(Funnel::from_rows(
                    page,
                    topic,
                    Some(id.as_str().to_string()),
                    first,
                    last,
                    rows,
                ))
            }
        }
    }

    /// A tracked link opened: the URL to send the browser to, or `None` (a bad signature, or a
    /// delivery, button or page that does not exist or is not tracked: the caller answers 404).
    /// `count` records the delivery's first click (a GET; a HEAD only looks).
    pub(crate) async fn open_link(
        &self,
        delivery_id: i64,
        button: usize,
        signature: &str,
        count: bool,
    ) -> Result<Option<String>> {
        let Some(links) = self.deps.links() else {
            return Ok(None);
        };
        let store = self.deps.store();
        let Some(target) = store.link_target(delivery_id).await? else {
            return Ok(None);
        };
        if !links.verify(&target.page_id, delivery_id, button, signature) {
            return Ok(None);
        }
        let Some(url) = links::target_of(&target.message, button) else {
            return Ok(None);
        };
        if count {
            store.record_click(delivery_id, self.deps.now()).await?;
        }
        Ok(Some(url))
    }

    /// The notification `id` the caller may see, for an export: its id range, or `None` when
    /// it has no delivery.
    pub(crate) async fn export_span(
        &self,
        id: &NotificationId,
        caller: &Caller,
    ) -> Result<Option<(i64, i64)>> {
        let not_found = || {
            Error::not_found(
                Reason::NotificationNotFound,
                format!("notification {} does not exist", id.as_str()),
            )
        };
        let n = self
            .deps
            .store()
            .notification(id.as_str())
            .await?
            .ok_or_else(not_found)?;
        caller.may_see(&n.page_id, not_found)?;
        self.deps.store().delivery_id_span(id.as_str()).await
    }

    /// The next window of an export: the deliveries of `id` from `from` (inclusive), and where
    /// the window after it starts.
    pub(crate) async fn export_window(
        &self,
        id: &NotificationId,
        from: i64,
    ) -> Result<(Vec<ExportRow>, i64)> {
        let to = from.saturating_add(EXPORT_WINDOW);
        let rows = self
            .deps
            .store()
            .export_window(id.as_str(), from, to)
            .await?;
        Ok((rows, to))
    }

    /// Expires every active grant past its expiry time, in small transactions; how many.
    pub(crate) async fn expire_grants(&self) -> Result<u64> {
        let mut total = 0;
        loop {
            let n = self
                .deps
                .store()
                .expire_grants(self.deps.now(), EXPIRY_BATCH)
                .await?;
            total += n;
            if n < EXPIRY_BATCH {
                return Ok(total);
            }
        }
    }
}
