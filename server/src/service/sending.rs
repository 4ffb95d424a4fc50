//! SendNotification, GetNotification, ListNotifications and CancelNotification: idempotency, the
//! intent stored at once, and planning handed to the planner.

use std::collections::HashMap;
use std::sync::Arc;

use super::Deps;
use super::planner::Planner;
use crate::access::Caller;
use crate::domain::notification::{
    Actor, Notification, NotificationStatus, PlanCounts, SendInput, SendOptions,
};
use crate::domain::planning::Spec;
use crate::domain::polite::{FrequencyCap, Polite, QuietHours};
use crate::domain::vocab::NotificationState;
use crate::error::{Error, Reason, Result};
use crate::messenger::wire;
use crate::store::NewNotification;

/// The sending side of the service.
#[derive(Debug, Clone)]
pub(crate) struct Sending {
    deps: Arc<Deps>,
    planner: Planner,
}

impl Sending {
    /// The sending side over `deps`, planning with `planner`.
    pub(crate) fn new(deps: Arc<Deps>, planner: Planner) -> Self {
        Self { deps, planner }
    }

    /// Stores a notification and plans it (inline for `dispatch.inline_planning_ms`, then in
    /// the background); `true` when `request_id` was seen before. A dry run is planned whole, in
    /// memory, and stored as PLANNED.
    pub(crate) async fn send(
        &self,
        input: SendInput,
        actor: &Actor,
    ) -> Result<(Notification, bool)> {
        let page_id = input.page_id.as_str();
        let page = self.deps.pages().get(page_id)?;
        let store = self.deps.store();
        if let Some(existing) = store
            .notification_by_request(page_id, input.request_id.as_str())
            .await?
        {
            return replay(existing, &input);
        }
        let now = self.deps.now();
        let o = &input.options;
        let polite = polite(&page.politeness, o);
        let spec = Spec::of(&input, polite.clone());
        let scheduled = o.scheduled_ms.unwrap_or(now).max(now);
        let state = if o.dry_run {
            NotificationState::Planned
        } else if scheduled > now {
            NotificationState::Scheduled
        } else {
            NotificationState::Dispatching
        };
        let mut notification = Notification {
            id: uuid::Uuid::now_v7().to_string(),
            page_id: page_id.to_string(),
            request_id: input.request_id.to_string(),
            request_hash: input.request_hash.clone(),
            topic_key: input.topic_key.to_string(),
            state,
            plan: PlanCounts::default(),
            planning: !o.dry_run,
            message_tag: o.message_tag,
            rolling_title: o.rolling_title.as_ref().map(|t| t.to_string()),
            scheduled_ms: scheduled,
            created_ms: now,
            completed_ms: None,
            created_by: actor.as_str().to_string(),
            polite,
        };
        if o.dry_run {
            notification.plan = self.planner.dry_run(&notification, &spec).await?;
            notification.completed_ms = Some(now);
        }
        let created = store
            .create_notification(NewNotification {
                notification,
                message: wire::message(&input.content).to_string(),
                spec: (!o.dry_run).then_some(spec),
                trace_parent: crate::telemetry::current_traceparent(),
            })
            .await?;
        match created {
            Some(n) if n.planning => {
                self.planner.plan_for(&n).await?;
                let stored = store.notification(&n.id).await?;
                Ok((stored.unwrap_or(n), false))
            }
            Some(n) => Ok((n, false)),
            None => {
                let existing = store
                    .notification_by_request(page_id, input.request_id.as_str())
                    .await?
                    .ok_or_else(|| Error::Aborted("concurrent request; retry".into()))?;
                replay(existing, &input)
            }
        }
    }

    /// A notification with its delivery counts per state, if the caller may see its page
    /// (one it may not see answers as one that does not exist).
    pub(crate) async fn status(&self, id: &str, caller: &Caller) -> Result<NotificationStatus> {
        let not_found = || {
            Error::not_found(
                Reason::NotificationNotFound,
                format!("notification {id} does not exist"),
            )
        };
        let n = self
            .deps
            .store()
            .notification(id)
            .await?
            .ok_or_else(not_found)?;
        caller.may_see(&n.page_id, not_found)?;
        Ok(self.with_counts(vec![n]).await?.remove(0))
    }

    async fn with_counts(&self, list: Vec<Notification>) -> Result<Vec<NotificationStatus>> {
        let ids: Vec<String> = list.iter().map(|n| n.id.clone()).collect();
        let store = self.deps.store();
        let mut counts = store.delivery_counts(&ids).await?;
        let now = self.deps.now();
        let mut pauses: HashMap<String, Option<String>> = HashMap::new();
        let mut out = Vec::with_capacity(list.len());
        for n in list {
            let paused_reason = match n.state.is_open() {
                false => None,
                true => match pauses.get(&n.page_id) {
                    Some(r) => r.clone(),
                    None => {
                        let r = store.pause_reason(&n.page_id, now).await?;
                        pauses.insert(n.page_id.clone(), r.clone());
                        r
                    }
                },
            };
            out.push(NotificationStatus {
                counts: counts.remove(&n.id).unwrap_or_default(),
                notification: n,
                paused_reason,
            });
        }
        Ok(out)
    }

    /// Resumes a page whose circuit breaker tripped; whether it had, and why the page is still
    /// paused (a pause this does not lift), if it is.
    pub(crate) async fn resume_page(
        &self,
        page_id: &str,
        actor: &Actor,
    ) -> Result<(bool, Option<String>)> {
        self.deps.pages().get(page_id)?;
        let store = self.deps.store();
        let now = self.deps.now();
        let resumed = store.resume_breaker(page_id, now).await?;
        if resumed {
            crate::ops::metrics::breaker_tripped(page_id, false);
            tracing::warn!(
                page_id,
                actor = actor.as_str(),
                "circuit breaker reset: the page sends again"
            );
        }
        Ok((resumed, store.pause_reason(page_id, now).await?))
    }

    /// A page of a page's notifications, newest first, after the one with id `before`.
    pub(crate) async fn list(
        &self,
        page_id: &str,
        states: &[NotificationState],
        before: Option<&str>,
        limit: u64,
    ) -> Result<Vec<NotificationStatus>> {
        self.deps.pages().get(page_id)?;
        let list = self
            .deps
            .store()
            .list_notifications(page_id, states, before, limit)
            .await?;
        self.with_counts(list).await
    }

    /// Cancels what has not been sent; FAILED_PRECONDITION when the notification is final.
    pub(crate) async fn cancel(
        &self,
        id: &str,
        caller: &Caller,
    ) -> Result<(NotificationStatus, u64)> {
        let current = self.status(id, caller).await?;
        if !current.notification.state.is_open() {
            return Err(Error::precondition(
                Reason::NotificationFinal,
                "the notification is already completed, cancelled or a dry run",
            ));
        }
        let n = self
            .deps
            .store()
            .cancel_notification(
                id,
                caller.actor(),
                &self.deps.policy().reusable_kinds(),
                self.deps.now(),
            )
            .await?;
        Ok((self.status(id, caller).await?, n))
    }
}

fn replay(existing: Notification, input: &SendInput) -> Result<(Notification, bool)> {
    if existing.request_hash == input.request_hash {
        Ok((existing, true))
    } else {
        Err(Error::AlreadyExists {
            reason: Reason::RequestIdReused,
            message: "request_id was used before with a different request".into(),
        })
    }
}

/// What a send observes: the page's politeness as the send's options override it.
pub(crate) fn polite(page: &crate::config::Politeness, o: &SendOptions) -> Polite {
    let page_cap = (page.frequency_cap > 0).then(|| FrequencyCap {
        max: page.frequency_cap,
        window_ms: (page.frequency_window_secs as i64).saturating_mul(1000),
    });
    let quiet = match page.quiet_hours.is_empty() {
        true => None,
        false => QuietHours::parse(&page.quiet_hours).ok(),
    };
    Polite {
        cap: o.frequency_cap.unwrap_or(page_cap),
        exclude_over_cap: o.exclude_over_cap,
        quiet: quiet.filter(|_| !o.ignore_quiet_hours),
        quiet_ignored: o.ignore_quiet_hours && quiet.is_some(),
        page_zone: page.time_zone.clone(),
    }
}
