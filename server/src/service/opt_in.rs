//! RequestOptIn: the window, weekly-title and regional rules, the outbox row, then the Send API
//! call with the template the person's region allows.

use std::time::Duration;

use super::{Consent, OptInInput};
use crate::clock::from_ms;
use crate::domain::notification::Actor;
use crate::domain::policy::Verdict;
use crate::domain::vocab::OptInTemplate;
use crate::error::{Error, Reason, Result};
use crate::messenger::errors::Class;
use crate::messenger::graph::GraphError;
use crate::messenger::wire;
use crate::store::{NewOptIn, OptInRow};

/// The prefix of the payload the service sends to Meta: `otn1:<opt-in request id>`.
pub(crate) const PAYLOAD_PREFIX: &str = "otn1:";

impl OptInInput {
    fn same_as(&self, row: &OptInRow) -> bool {
        row.psid == self.psid.as_str()
            && row.topic_key == self.topic_key.as_str()
            && row.title == self.title.as_str()
            && row.payload == self.payload.as_str()
            && self.template.is_none_or(|t| t == row.template)
    }
}

/// Removes the id from the in-flight set when the attempt ends, however it ends.
struct InFlight<'a>(&'a Consent, String);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.0.in_flight.lock() {
            set.remove(&self.1);
        }
    }
}

fn concurrent() -> Error {
    Error::Aborted("a request with this request_id is being sent; retry".into())
}

impl Consent {
    fn claim(&self, id: &str) -> Option<InFlight<'_>> {
        let mut set = self.in_flight.lock().ok()?;
        set.insert(id.to_string())
            .then(|| InFlight(self, id.to_string()))
    }

    /// Sends a consent request; `true` when `request_id` was answered before.
    ///
    /// The outbox row is stored before Meta is called. A row left pending by an attempt that
    /// ended without an answer (timeout, crash) is sent again by a retry with the same
    /// request_id; if Meta then refuses it as a repeat of the same title, the earlier attempt
    /// got through and the request counts as sent.
    pub(crate) async fn request_opt_in(
        &self,
        input: OptInInput,
        actor: &Actor,
    ) -> Result<(OptInRow, bool)> {
        let page = self.deps.pages().get(input.page_id.as_str())?;
        let store = self.deps.store();
        let now = self.deps.now();
        let page_id = input.page_id.as_str();
        let (row, takeover) = match store
            .opt_in_by_request(page_id, input.request_id.as_str())
            .await?
        {
            Some(row) if !input.same_as(&row) => {
                return Err(Error::AlreadyExists {
                    reason: Reason::RequestIdReused,
                    message: "request_id was used before with a different request".into(),
                });
            }
            Some(row) if row.message_id.is_some() => return Ok((row, true)),
            Some(row) => (row, true),
            None => {
                let template = self.check_rules(&input, "", now).await?;
                let id = uuid::Uuid::now_v7().to_string();
                let new = NewOptIn {
                    id: &id,
                    page_id: &input.page_id,
                    request_id: &input.request_id,
                    psid: &input.psid,
                    topic_key: &input.topic_key,
                    title: &input.title,
                    payload: &input.payload,
                    template,
                    actor,
                };
                if !store.insert_opt_in(&new, now).await? {
                    return Err(concurrent());
                }
                let row = store
                    .opt_in_by_request(page_id, input.request_id.as_str())
                    .await?
                    .ok_or_else(|| Error::Internal("opt-in request vanished".into()))?;
                (row, false)
            }
        };
        let Some(_guard) = self.claim(&row.id) else {
            return Err(concurrent());
        };
        if takeover {
            self.check_rules(&input, &row.id, now).await?;
        }
        let payload = format!("{PAYLOAD_PREFIX}{}", row.id);
        let (psid, title) = (input.psid.as_str(), input.title.as_str());
        let body = match row.template {
            OptInTemplate::OneTimeNotification => wire::one_time_notif_req(psid, title, &payload),
            OptInTemplate::NotificationMessages => {
                wire::notification_messages(psid, title, &payload, &input.marketing)
            }
        };
        let result = self.deps.graph().send(&page.access_token, &body).await;
        let sent_at = self.deps.now();
        let class = result
            .as_ref()
            .err()
            .map(|e| self.deps.classifier().class(e));
        match (result, class) {
            (Ok(sent), _) => {
                store
                    .mark_opt_in_sent(&row, &sent.message_id, sent_at)
                    .await?;
            }
            (Err(_), Some(Class::OptInRefused)) if takeover => {
                store.mark_opt_in_sent(&row, "", sent_at).await?;
            }
            (Err(_), Some(Class::Ambiguous)) => {
                return Err(Error::Unavailable {
                    reason: Reason::GraphApiUnavailable,
                    message: "Meta did not answer; retry with the same request_id".into(),
                    retry_after: Some(Duration::from_secs(1)),
                });
            }
            (Err(e), Some(class)) => {
                store.delete_opt_in(&row.id).await?;
                return Err(refused(&e, class));
            }
            (Err(e), None) => return Err(Error::Internal(format!("unclassified error {e}"))),
        }
        let row = store
            .opt_in_by_id(&row.id)
            .await?
            .ok_or_else(|| Error::Internal("opt-in request vanished".into()))?;
        Ok((row, false))
    }

    /// The rules of an opt-in request: inside the window, not the same title within a week,
    /// and a template the person's region allows. Returns the template to send.
    async fn check_rules(
        &self,
        input: &OptInInput,
        except: &str,
        now: i64,
    ) -> Result<OptInTemplate> {
        let policy = self.deps.policy();
        let store = self.deps.store();
        let recipient = store
            .recipient(input.page_id.as_str(), input.psid.as_str())
            .await?;
        let last = recipient.as_ref().and_then(|r| r.last_interaction_ms);
        if !policy.in_window(last, now) {
            let mut metadata = vec![("rule".to_string(), policy.window_rule().to_string())];
            if let Some(last) = last {
                let closed = from_ms(last + policy.window_ms());
                metadata.push(("window_close_time".into(), closed.to_rfc3339()));
            }
            return Err(Error::FailedPrecondition {
                reason: Reason::OutsideWindow,
                message: "the person's 24-hour messaging window is closed; a consent request \
                          can only be sent inside it"
                    .into(),
                metadata,
            });
        }
        let since = now - policy.opt_in_repeat_ms();
        let (page, psid, title) = (
            input.page_id.as_str(),
            input.psid.as_str(),
            input.title.as_str(),
        );
        if store
            .title_asked_since(page, psid, title, since, except)
            .await?
        {
            return Err(Error::FailedPrecondition {
                reason: Reason::OptInRecentlyRequested,
                message: "the same title was asked of this person within the last week".into(),
                metadata: vec![("rule".into(), policy.opt_in_repeat_rule().to_string())],
            });
        }
        let region = recipient.as_ref().and_then(|r| r.region.as_deref());
        let verdict = |t: OptInTemplate| policy.region_verdict(t.kind(), region, now);
        let asked;
        let candidates: &[OptInTemplate] = match input.template {
            Some(t) => {
                asked = [t];
                &asked
            }
            None => OptInTemplate::ALL,
        };
        let mut refused_by = None;
        for t in candidates {
            match verdict(*t) {
                Verdict::Allowed(_) => return Ok(*t),
                Verdict::Refused(rule) => {
                    refused_by.get_or_insert(rule);
                }
            }
        }
        Err(Error::FailedPrecondition {
            reason: Reason::RegionNotAllowed,
            message: format!(
                "the regional policy allows no such opt-in template for a person in {}",
                region.unwrap_or("an unknown region")
            ),
            metadata: vec![("rule".into(), refused_by.unwrap_or_default())],
        })
    }
}

fn refused(e: &GraphError, class: Class) -> Error {
    let (code, subcode) = e.codes();
    let metadata = vec![
        ("graph_code".to_string(), code.to_string()),
        ("graph_subcode".to_string(), subcode.to_string()),
    ];
    match class {
        Class::Retry | Class::RateLimited(_) | Class::PersonBusy => Error::Unavailable {
            reason: Reason::GraphApiUnavailable,
            message: format!("Meta asked to retry later ({})", class.reason()),
            retry_after: match class {
                Class::RateLimited(Some(d)) => Some(d),
                _ => Some(Duration::from_secs(1)),
            },
        },
        _ => Error::FailedPrecondition {
            reason: match class {
                Class::OutsideWindow => Reason::OutsideWindow,
                Class::OptInRefused => Reason::OptInRecentlyRequested,
                Class::PageToken | Class::PageRestricted => Reason::PagePaused,
                _ => Reason::GraphApiRefused,
            },
            message: format!("Meta refused the request ({})", class.reason()),
            metadata,
        },
    }
}
