//! SendNotification, GetNotification and CancelNotification: idempotency, the plan decided by
//! the policy engine, and the one transaction that stores the intent.

use std::collections::{HashMap, HashSet};

use super::Ledger;
use crate::domain::decide::{Decision, decide, reason};
use crate::domain::event::Path;
use crate::domain::grant::{GrantState, TagFilter};
use crate::domain::send::{Audience, SendInput};
use crate::error::{Error, Reason, Result};
use crate::store::notifications::{NewDelivery, NewNotification, NotificationRow, Plan, state};

impl Ledger {
    /// Stores a notification and its deliveries; `true` when `request_id` was seen before.
    /// Order of recipients (for max_recipients): grant sends by the person's oldest usable
    /// opt-in (then row id), then window and tag sends by row id.
    pub async fn send_notification(&self, input: SendInput) -> Result<(NotificationRow, bool)> {
        let page_id = input.page_id.as_str();
        self.pages.get(page_id)?;
        if let Some(existing) = self
            .store
            .notification_by_request(page_id, input.request_id.as_str())
            .await?
        {
            return replay(existing, &input);
        }
        let now = self.now();
        let topic_id = self
            .store
            .topic_id(page_id, input.topic_key.as_str())
            .await?;
        let (tags, psids) = match &input.audience {
            Audience::AllEligible => (TagFilter::default(), None),
            Audience::Tags(t) => (t.clone(), None),
            Audience::Psids(p) => (TagFilter::default(), Some(p.as_slice())),
        };
        let candidates = self
            .store
            .candidates(page_id, topic_id, &tags, &input.options.regions, psids)
            .await?;
        let mut plan = Plan::default();
        let exclude =
            |reason: i32, plan: &mut Plan| *plan.exclusions.entry(reason).or_default() += 1;
        if let Some(list) = psids {
            let known: HashSet<&str> = candidates.iter().map(|c| c.psid.as_str()).collect();
            let unknown = list.iter().filter(|p| !known.contains(p.as_str())).count();
            if unknown > 0 {
                *plan.exclusions.entry(reason::NO_GRANT).or_default() += unknown as i64;
            }
        }
        let mut grant_sends: Vec<((i64, i64), NewDelivery)> = Vec::new();
        let mut other_sends: Vec<NewDelivery> = Vec::new();
        let tag = input.options.message_tag.as_deref();
        for c in &candidates {
            if !c.tag_ok {
                exclude(reason::TAG_FILTER, &mut plan);
                continue;
            }
            if !c.region_ok {
                exclude(reason::REGION_FILTER, &mut plan);
                continue;
            }
            match decide(
                &self.policy,
                &c.facts,
                input.options.include_window_recipients,
                tag,
                now,
            ) {
                Decision::Excluded { reason, .. } => exclude(reason, &mut plan),
                Decision::Send {
                    path,
                    grant_id,
                    rule,
                } => {
                    let d = NewDelivery {
                        recipient_id: c.recipient_id,
                        psid: c.psid.clone(),
                        grant_id,
                        path,
                        rule,
                    };
                    if path == Path::Grant {
                        let oldest = c
                            .facts
                            .grants
                            .iter()
                            .filter(|g| {
                                g.state == GrantState::Active
                                    && g.expires_ms.is_none_or(|e| e > now)
                            })
                            .map(|g| g.opted_in_ms)
                            .min()
                            .unwrap_or(i64::MAX);
                        grant_sends.push(((oldest, c.recipient_id), d));
                    } else {
                        other_sends.push(d);
                    }
                }
            }
        }
        grant_sends.sort_by_key(|(k, _)| *k);
        let mut deliveries: Vec<NewDelivery> = grant_sends.into_iter().map(|(_, d)| d).collect();
        deliveries.extend(other_sends);
        if let Some(max) = input.options.max_recipients {
            let over = deliveries.len().saturating_sub(max as usize);
            deliveries.truncate(max as usize);
            if over > 0 {
                *plan.exclusions.entry(reason::MAX_RECIPIENTS).or_default() += over as i64;
            }
        }
        for d in &deliveries {
            match d.path {
                Path::Grant => plan.grant_sends += 1,
                Path::Window => plan.window_sends += 1,
                _ => plan.tag_sends += 1,
            }
        }
        let scheduled = input.options.scheduled_ms.unwrap_or(now).max(now);
        let notification_state = if input.options.dry_run {
            deliveries.clear();
            state::PLANNED
        } else if deliveries.is_empty() {
            state::COMPLETED
        } else if scheduled > now {
            state::SCHEDULED
        } else {
            state::DISPATCHING
        };
        let row = NotificationRow {
            id: uuid::Uuid::now_v7().to_string(),
            page_id: page_id.to_string(),
            request_id: input.request_id.to_string(),
            request_hash: input.request_hash.clone(),
            topic_key: input.topic_key.to_string(),
            message: input.content.message().to_string(),
            state: notification_state,
            plan: String::new(),
            rolling_title: input.options.rolling_title.as_ref().map(|t| t.to_string()),
            scheduled_at: scheduled,
            created_at: now,
            completed_at: matches!(notification_state, state::COMPLETED | state::PLANNED)
                .then_some(now),
        };
        let created = self
            .store
            .create_notification(
                NewNotification {
                    row,
                    plan,
                    deliveries,
                },
                now,
            )
            .await?;
        match created {
            Some(row) => Ok((row, false)),
            None => {
                let existing = self
                    .store
                    .notification_by_request(page_id, input.request_id.as_str())
                    .await?
                    .ok_or_else(|| Error::Aborted("concurrent request; retry".into()))?;
                replay(existing, &input)
            }
        }
    }

    /// A notification with its delivery counts per state.
    pub async fn notification(&self, id: &str) -> Result<(NotificationRow, HashMap<i32, i64>)> {
        let row = self.store.notification(id).await?.ok_or_else(|| {
            Error::not_found(
                Reason::NotificationNotFound,
                format!("notification {id} does not exist"),
            )
        })?;
        let counts = self.store.delivery_counts(id).await?;
        Ok((row, counts))
    }

    /// Cancels what has not been sent; FAILED_PRECONDITION when the notification is final.
    pub async fn cancel(&self, id: &str) -> Result<(NotificationRow, HashMap<i32, i64>, u64)> {
        let (row, _) = self.notification(id).await?;
        if !matches!(row.state, state::SCHEDULED | state::DISPATCHING) {
            return Err(Error::precondition(
                Reason::NotificationFinal,
                "the notification is already completed, cancelled or a dry run",
            ));
        }
        let n = self.store.cancel_notification(id, self.now()).await?;
        let (row, counts) = self.notification(id).await?;
        Ok((row, counts, n))
    }
}

/// The plan stored with a notification.
pub fn plan_of(row: &NotificationRow) -> Plan {
    serde_json::from_str(&row.plan).unwrap_or_default()
}

fn replay(existing: NotificationRow, input: &SendInput) -> Result<(NotificationRow, bool)> {
    if existing.request_hash == input.request_hash {
        Ok((existing, true))
    } else {
        Err(Error::AlreadyExists {
            reason: Reason::RequestIdReused,
            message: "request_id was used before with a different request".into(),
        })
    }
}
