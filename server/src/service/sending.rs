//! SendNotification, GetNotification, ListNotifications and CancelNotification: idempotency, the
//! plan decided by the policy engine, and the one transaction that stores the intent.

use std::sync::Arc;

use super::Deps;
use crate::domain::grant::TagFilter;
use crate::domain::notification::{Actor, Audience, Notification, NotificationStatus, SendInput};
use crate::domain::plan::{Ask, plan};
use crate::domain::vocab::NotificationState;
use crate::error::{Error, Reason, Result};
use crate::messenger::wire;
use crate::store::NewNotification;

/// The sending side of the service.
#[derive(Debug, Clone)]
pub(crate) struct Sending {
    deps: Arc<Deps>,
}

impl Sending {
    /// The sending side over `deps`.
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// Plans and stores a notification and its deliveries; `true` when `request_id` was seen
    /// before.
    pub(crate) async fn send(
        &self,
        input: SendInput,
        actor: &Actor,
    ) -> Result<(Notification, bool)> {
        let page_id = input.page_id.as_str();
        self.deps.pages().get(page_id)?;
        let store = self.deps.store();
        if let Some(existing) = store
            .notification_by_request(page_id, input.request_id.as_str())
            .await?
        {
            return replay(existing, &input);
        }
        let now = self.deps.now();
        let topic_id = store.topic_id(&input.page_id, &input.topic_key).await?;
        let (tags, psids) = match &input.audience {
            Audience::AllEligible => (TagFilter::default(), None),
            Audience::Tags(t) => (t.clone(), None),
            Audience::Psids(p) => (TagFilter::default(), Some(p.as_slice())),
        };
        let candidates = store
            .candidates(page_id, topic_id, &tags, &input.options.regions, psids)
            .await?;
        let o = &input.options;
        let mut planned = plan(
            self.deps.policy(),
            &candidates,
            Ask {
                named: psids,
                include_window: o.include_window_recipients,
                message_tag: o.message_tag,
                max_recipients: o.max_recipients,
            },
            now,
        );
        let scheduled = o.scheduled_ms.unwrap_or(now).max(now);
        let state = if o.dry_run {
            planned.deliveries.clear();
            NotificationState::Planned
        } else if planned.deliveries.is_empty() {
            NotificationState::Completed
        } else if scheduled > now {
            NotificationState::Scheduled
        } else {
            NotificationState::Dispatching
        };
        let notification = Notification {
            id: uuid::Uuid::now_v7().to_string(),
            page_id: page_id.to_string(),
            request_id: input.request_id.to_string(),
            request_hash: input.request_hash.clone(),
            topic_key: input.topic_key.to_string(),
            state,
            plan: planned.counts,
            message_tag: o.message_tag,
            rolling_title: o.rolling_title.as_ref().map(|t| t.to_string()),
            scheduled_ms: scheduled,
            created_ms: now,
            completed_ms: (!state.is_open()).then_some(now),
            created_by: actor.as_str().to_string(),
        };
        let created = store
            .create_notification(
                NewNotification {
                    notification,
                    message: wire::message(&input.content).to_string(),
                    deliveries: planned.deliveries,
                    trace_parent: crate::telemetry::current_traceparent(),
                },
                now,
            )
            .await?;
        match created {
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

    /// A notification with its delivery counts per state.
    pub(crate) async fn status(&self, id: &str) -> Result<NotificationStatus> {
        let n = self.deps.store().notification(id).await?.ok_or_else(|| {
            Error::not_found(
                Reason::NotificationNotFound,
                format!("notification {id} does not exist"),
            )
        })?;
        Ok(self.with_counts(vec![n]).await?.remove(0))
    }

    async fn with_counts(&self, list: Vec<Notification>) -> Result<Vec<NotificationStatus>> {
        let ids: Vec<String> = list.iter().map(|n| n.id.clone()).collect();
        let mut counts = self.deps.store().delivery_counts(&ids).await?;
        Ok(list
            .into_iter()
            .map(|n| NotificationStatus {
                counts: counts.remove(&n.id).unwrap_or_default(),
                notification: n,
            })
            .collect())
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
        actor: &Actor,
    ) -> Result<(NotificationStatus, u64)> {
        let current = self.status(id).await?;
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
                actor,
                &self.deps.policy().reusable_kinds(),
                self.deps.now(),
            )
            .await?;
        Ok((self.status(id).await?, n))
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
