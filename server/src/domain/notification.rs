//! What a send is (content, audience, options), what it became (a notification with its plan),
//! and who asked for it.

use std::collections::{BTreeMap, HashMap};

use super::content::Content;
use super::grant::TagFilter;
use super::polite::{Deferral, FrequencyCap, Polite};
use super::values::{PageId, Psid, Region, RequestId, Title, TopicKey};
use super::vocab::{DeliveryPath, DeliveryState, ExclusionReason, MessageTag, NotificationState};

/// Who made a call or caused an event: an API key's name, or one of the service's own actors.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Actor(String);

impl Actor {
    /// An API key (or client certificate) by its name.
    pub(crate) fn named(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// An unauthenticated call to a sandbox server.
    pub(crate) fn sandbox() -> Self {
        Self("sandbox".into())
    }

    /// What Meta's webhook reported.
    pub(crate) fn meta() -> Self {
        Self("meta".into())
    }

    /// The name.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who a send goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Audience {
    /// Everyone eligible on the topic.
    AllEligible,
    /// Everyone eligible who matches the filter.
    Tags(TagFilter),
    /// Only these people, sorted and without duplicates.
    Psids(Vec<Psid>),
}

/// How a send is made.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SendOptions {
    pub(crate) max_recipients: Option<u32>,
    pub(crate) include_window_recipients: bool,
    pub(crate) dry_run: bool,
    pub(crate) scheduled_ms: Option<i64>,
    pub(crate) rolling_title: Option<Title>,
    pub(crate) regions: Vec<Region>,
    pub(crate) message_tag: Option<MessageTag>,
    /// Overrides the page's frequency cap: `Some(None)` sends without one.
    pub(crate) frequency_cap: Option<Option<FrequencyCap>>,
    /// Leave people over the cap out (grant kept) rather than defer them.
    pub(crate) exclude_over_cap: bool,
    /// Send inside the recipients' quiet hours (a time-critical alert).
    pub(crate) ignore_quiet_hours: bool,
}

/// A validated SendNotification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SendInput {
    pub(crate) request_id: RequestId,
    /// A digest of the whole request (without request_id): the same id with another body is
    /// refused.
    pub(crate) request_hash: String,
    pub(crate) page_id: PageId,
    pub(crate) topic_key: TopicKey,
    pub(crate) audience: Audience,
    pub(crate) content: Content,
    pub(crate) options: SendOptions,
}

/// The counts of a plan: sends per path and exclusions per reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PlanCounts {
    pub(crate) grant_sends: i64,
    pub(crate) window_sends: i64,
    pub(crate) tag_sends: i64,
    pub(crate) exclusions: BTreeMap<ExclusionReason, i64>,
    /// Of the sends, how many wait for the person's frequency cap.
    pub(crate) deferred_by_cap: i64,
    /// Of the sends, how many wait for the end of the person's quiet hours.
    pub(crate) deferred_by_quiet: i64,
}

impl PlanCounts {
    /// Counts one more person left out for `reason`.
    pub(crate) fn exclude(&mut self, reason: ExclusionReason, n: i64) {
        if n > 0 {
            *self.exclusions.entry(reason).or_default() += n;
        }
    }

    /// Counts `n` more sends deferred for `why` (negative: fewer).
    pub(crate) fn defer(&mut self, why: Deferral, n: i64) {
        match why {
            Deferral::FrequencyCap => self.deferred_by_cap += n,
            Deferral::QuietHours => self.deferred_by_quiet += n,
        }
    }

    /// Counts one more send by `path`.
    pub(crate) fn send(&mut self, path: DeliveryPath, n: i64) {
        match path {
            DeliveryPath::Grant => self.grant_sends += n,
            DeliveryPath::Window => self.window_sends += n,
            DeliveryPath::Tag => self.tag_sends += n,
        }
    }
}

/// A stored notification, as callers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notification {
    pub(crate) id: String,
    pub(crate) page_id: String,
    pub(crate) request_id: String,
    pub(crate) request_hash: String,
    pub(crate) topic_key: String,
    pub(crate) state: NotificationState,
    pub(crate) plan: PlanCounts,
    /// The plan is still being made (chunks of a large audience are queued after the call).
    pub(crate) planning: bool,
    pub(crate) message_tag: Option<MessageTag>,
    pub(crate) rolling_title: Option<String>,
    pub(crate) scheduled_ms: i64,
    pub(crate) created_ms: i64,
    pub(crate) completed_ms: Option<i64>,
    pub(crate) created_by: String,
    /// The frequency cap and quiet hours it observes.
    pub(crate) polite: Polite,
}

/// A notification with its deliveries counted per state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotificationStatus {
    pub(crate) notification: Notification,
    pub(crate) counts: HashMap<DeliveryState, i64>,
    /// Why its page's sending is paused, while it is open and the page is.
    pub(crate) paused_reason: Option<String>,
}
