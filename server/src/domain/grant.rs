//! Grants and recipients as the domain sees them: kinds, states and the views returned to callers.

use super::types::{PageId, Psid, Region, Tag, TopicKey};

/// The kind of consent (numbers match `otn.v1.GrantKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantKind {
    OneTimeNotification = 1,
    MarketingMessages = 2,
    MarketingSubscription = 3,
}

impl GrantKind {
    /// From the stored or wire number.
    pub fn from_i32(v: i32) -> Option<Self> {
        match v {
            1 => Some(Self::OneTimeNotification),
            2 => Some(Self::MarketingMessages),
            3 => Some(Self::MarketingSubscription),
            _ => None,
        }
    }

    /// The policy-data name of the kind.
    pub fn name(self) -> &'static str {
        match self {
            Self::OneTimeNotification => "one_time_notification",
            Self::MarketingMessages => "marketing_messages",
            Self::MarketingSubscription => "marketing_subscription",
        }
    }
}

/// Where a grant is in its life (numbers match `otn.v1.GrantState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantState {
    Active = 1,
    Reserved = 2,
    Consumed = 3,
    Expired = 4,
    Stopped = 5,
    Revoked = 6,
    Invalid = 7,
}

impl GrantState {
    /// From the stored number.
    pub fn from_i32(v: i32) -> Option<Self> {
        use GrantState::*;
        [
            Active, Reserved, Consumed, Expired, Stopped, Revoked, Invalid,
        ]
        .into_iter()
        .find(|s| *s as i32 == v)
    }

    /// Whether no event can make the grant usable again (a STOP can be resumed).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Consumed | Self::Expired | Self::Revoked | Self::Invalid
        )
    }
}

/// A grant without its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantView {
    pub id: i64,
    pub page_id: String,
    pub psid: String,
    pub topic_key: String,
    pub kind: GrantKind,
    pub payload: String,
    pub opted_in_ms: i64,
    pub expires_ms: Option<i64>,
    pub state: GrantState,
    pub state_changed_ms: i64,
}

impl GrantView {
    /// The state as a caller sees it at `now`: an active grant past its expiry is expired.
    pub fn effective_state(&self, now_ms: i64) -> GrantState {
        match (self.state, self.expires_ms) {
            (GrantState::Active | GrantState::Reserved, Some(exp)) if exp <= now_ms => {
                GrantState::Expired
            }
            (s, _) => s,
        }
    }
}

/// A person as a page knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientView {
    pub id: i64,
    pub page_id: String,
    pub psid: String,
    pub tags: Vec<String>,
    pub region: Option<String>,
    pub last_interaction_ms: Option<i64>,
}

/// A grant to record.
#[derive(Debug, Clone)]
pub struct NewGrant {
    pub page_id: PageId,
    pub psid: Psid,
    pub topic_key: TopicKey,
    pub topic_title: String,
    pub kind: GrantKind,
    pub token: super::types::Token,
    pub payload: String,
    pub opted_in_ms: i64,
    pub expires_ms: Option<i64>,
}

/// Which recipients a listing or a send is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagFilter {
    pub all_of: Vec<Tag>,
    pub any_of: Vec<Tag>,
    pub none_of: Vec<Tag>,
}

impl TagFilter {
    /// Whether the filter lets everyone through.
    pub fn is_empty(&self) -> bool {
        self.all_of.is_empty() && self.any_of.is_empty() && self.none_of.is_empty()
    }
}

/// The audience filters shared by ListEligible and SendNotification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibleQuery {
    pub page_id: PageId,
    pub topic_key: TopicKey,
    pub tags: TagFilter,
    pub regions: Vec<Region>,
    pub now_ms: i64,
}
