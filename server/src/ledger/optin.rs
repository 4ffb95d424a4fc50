//! RequestOptIn: the window and weekly-title rules, the outbox row, then the Send API call.

use super::Ledger;
use crate::clock::from_ms;
use crate::domain::types::{PageId, Payload, Psid, RequestId, Title, TopicKey};
use crate::error::{Error, Reason, Result};
use crate::messenger::graph::{Class, GraphError, opt_in_request_body};
use crate::store::optins::OptInRow;

/// The prefix of the payload the service sends to Meta: `otn1:<opt-in request id>`.
pub const PAYLOAD_PREFIX: &str = "otn1:";

/// A validated RequestOptIn.
#[derive(Debug, Clone)]
pub struct OptInInput {
    pub request_id: RequestId,
    pub page_id: PageId,
    pub psid: Psid,
    pub topic_key: TopicKey,
    pub title: Title,
    pub payload: Payload,
}

impl OptInInput {
    fn same_as(&self, row: &OptInRow) -> bool {
        row.psid == self.psid.as_str()
            && row.topic_key == self.topic_key.as_str()
            && row.title == self.title.as_str()
            && row.payload == self.payload.as_str()
    }
}

/// Removes the id from the in-flight set when the attempt ends, however it ends.
struct InFlight<'a>(&'a Ledger, String);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.0.in_flight.lock() {
            set.remove(&self.1);
        }
    }
}

impl Ledger {
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
    pub async fn request_opt_in(&self, input: OptInInput) -> Result<(OptInRow, bool)> {
        let page = self.pages.get(input.page_id.as_str())?;
        let now = self.now();
        let page_id = input.page_id.as_str();
        let (row, takeover) = match self
            .store
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
                self.check_rules(&input, "", now).await?;
                let id = uuid::Uuid::now_v7().to_string();
                let inserted = self
                    .store
                    .insert_opt_in(
                        &id,
                        page_id,
                        input.request_id.as_str(),
                        input.psid.as_str(),
                        input.topic_key.as_str(),
                        input.title.as_str(),
                        input.payload.as_str(),
                        now,
                    )
                    .await?;
                if !inserted {
                    return Err(Error::Aborted(
                        "a request with this request_id is being sent; retry".into(),
                    ));
                }
                let row = self
                    .store
                    .opt_in_by_request(page_id, input.request_id.as_str())
                    .await?
                    .ok_or_else(|| Error::Internal("opt-in request vanished".into()))?;
                (row, false)
            }
        };
        let Some(_guard) = self.claim(&row.id) else {
            return Err(Error::Aborted(
                "a request with this request_id is being sent; retry".into(),
            ));
        };
        if takeover {
            self.check_rules(&input, &row.id, now).await?;
        }
        let body = opt_in_request_body(
            input.psid.as_str(),
            input.title.as_str(),
            &format!("{PAYLOAD_PREFIX}{}", row.id),
        );
        let result = self.graph.send(&page.access_token, &body).await;
        let sent_at = self.now();
        match result {
            Ok(sent) => {
                self.store
                    .mark_opt_in_sent(&row.id, &sent.message_id, sent_at)
                    .await?;
            }
            Err(e) if takeover && e.class() == Class::OptInRefused => {
                self.store.mark_opt_in_sent(&row.id, "", sent_at).await?;
            }
            Err(e) if e.class() == Class::Ambiguous => {
                return Err(Error::Unavailable {
                    reason: Reason::GraphApiUnavailable,
                    message: "Meta did not answer; retry with the same request_id".into(),
                    retry_after: Some(std::time::Duration::from_secs(1)),
                });
            }
            Err(e) => {
                self.store.delete_opt_in(&row.id).await?;
                return Err(match e.class() {
                    Class::Retry | Class::RateLimited(_) => Error::Unavailable {
                        reason: Reason::GraphApiUnavailable,
                        message: format!("Meta asked to retry later ({})", e.reason()),
                        retry_after: match e.class() {
                            Class::RateLimited(Some(d)) => Some(d),
                            _ => Some(std::time::Duration::from_secs(1)),
                        },
                    },
                    _ => refused(&e),
                });
            }
        }
        let row = self
            .store
            .opt_in_by_id(&row.id)
            .await?
            .ok_or_else(|| Error::Internal("opt-in request vanished".into()))?;
        Ok((row, false))
    }

    async fn check_rules(&self, input: &OptInInput, except: &str, now: i64) -> Result<()> {
        let recipient = self
            .store
            .recipient(input.page_id.as_str(), input.psid.as_str())
            .await?;
        let last = recipient.and_then(|r| r.last_interaction_ms);
        if !self.policy.in_window(last, now) {
            let mut metadata = vec![("rule".to_string(), self.policy.window_rule().to_string())];
            if let Some(last) = last {
                let closed = from_ms(last + self.policy.window_ms());
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
        let since = now - self.policy.opt_in_repeat_ms();
        if self
            .store
            .title_asked_since(
                input.page_id.as_str(),
                input.psid.as_str(),
                input.title.as_str(),
                since,
                except,
            )
            .await?
        {
            return Err(Error::FailedPrecondition {
                reason: Reason::OptInRecentlyRequested,
                message: "the same title was asked of this person within the last week".into(),
                metadata: vec![("rule".into(), self.policy.opt_in_repeat.id.clone())],
            });
        }
        Ok(())
    }
}

fn refused(e: &GraphError) -> Error {
    let (code, subcode) = e.codes();
    let reason = match e.class() {
        Class::OutsideWindow => Reason::OutsideWindow,
        Class::OptInRefused => Reason::OptInRecentlyRequested,
        Class::PageToken => Reason::PagePaused,
        _ => Reason::GraphApiRefused,
    };
    Error::FailedPrecondition {
        reason,
        message: format!("Meta refused the request ({})", e.reason()),
        metadata: vec![
            ("graph_code".into(), code.to_string()),
            ("graph_subcode".into(), subcode.to_string()),
        ],
    }
}
