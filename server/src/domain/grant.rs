//! Grants and recipients as the domain sees them, and the two rules about grants that both the
//! policy engine and the SQL of the store apply: when a grant is usable, and in which order the
//! reasons for having no usable grant are told.

use super::values::{PageId, Psid, Region, Tag, Title, Token, TopicKey};
use super::vocab::{ExclusionReason, GrantKind, GrantState};

/// The states in which a grant may be spent (when also unexpired).
pub(crate) const USABLE_STATES: [GrantState; 1] = [GrantState::Active];

/// Whether a grant in `state`, expiring at `expires_ms`, may be spent at `now_ms`.
pub(crate) fn usable(state: GrantState, expires_ms: Option<i64>, now_ms: i64) -> bool {
    USABLE_STATES.contains(&state) && !lapsed(expires_ms, now_ms)
}

/// Whether an expiry time has passed at `now_ms` (no expiry never lapses).
pub(crate) fn lapsed(expires_ms: Option<i64>, now_ms: i64) -> bool {
    expires_ms.is_some_and(|e| e <= now_ms)
}

/// A test on one grant of a person who holds no usable grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrantTest {
    /// The grant is in this state.
    In(GrantState),
    /// The grant expired: marked EXPIRED, or active past its expiry time.
    Lapsed,
}

impl GrantTest {
    /// Whether a grant passes the test at `now_ms`.
    pub(crate) fn holds(self, state: GrantState, expires_ms: Option<i64>, now_ms: i64) -> bool {
        match self {
            GrantTest::In(s) => state == s,
            GrantTest::Lapsed => {
                state == GrantState::Expired
                    || (state == GrantState::Active && lapsed(expires_ms, now_ms))
            }
        }
    }
}

/// Why someone who holds grants on a topic, but none usable, cannot be sent to: the first
/// entry that one of their grants passes; [`NO_USABLE_FALLBACK`] when none does.
pub(crate) const STATE_REASONS: [(ExclusionReason, GrantTest); 5] = [
    (
        ExclusionReason::Reserved,
        GrantTest::In(GrantState::Reserved),
    ),
    (ExclusionReason::Stopped, GrantTest::In(GrantState::Stopped)),
    (ExclusionReason::Expired, GrantTest::Lapsed),
    (
        ExclusionReason::Consumed,
        GrantTest::In(GrantState::Consumed),
    ),
    (ExclusionReason::Invalid, GrantTest::In(GrantState::Invalid)),
];

/// The reason when no entry of [`STATE_REASONS`] applies (every grant was revoked).
pub(crate) const NO_USABLE_FALLBACK: ExclusionReason = ExclusionReason::Revoked;

/// A grant without its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrantView {
    pub(crate) id: i64,
    pub(crate) page_id: String,
    pub(crate) psid: String,
    pub(crate) topic_key: String,
    pub(crate) kind: GrantKind,
    pub(crate) payload: String,
    pub(crate) opted_in_ms: i64,
    pub(crate) expires_ms: Option<i64>,
    pub(crate) state: GrantState,
    pub(crate) state_changed_ms: i64,
    pub(crate) revoked_by: Option<String>,
}

impl GrantView {
    /// The state as a caller sees it at `now`: an active grant past its expiry is expired.
    pub(crate) fn effective_state(&self, now_ms: i64) -> GrantState {
        match self.state {
            GrantState::Active | GrantState::Reserved if lapsed(self.expires_ms, now_ms) => {
                GrantState::Expired
            }
            s => s,
        }
    }
}

/// A person as a page knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecipientView {
    pub(crate) id: i64,
    pub(crate) page_id: String,
    pub(crate) psid: String,
    pub(crate) tags: Vec<String>,
    pub(crate) region: Option<String>,
    pub(crate) last_interaction_ms: Option<i64>,
    /// Their IANA time zone: set by UpdateRecipient, else their latest Marketing Messages
    /// opt-in's.
    pub(crate) time_zone: Option<String>,
}

/// A grant to record.
#[derive(Debug, Clone)]
pub(crate) struct NewGrant {
    pub(crate) page_id: PageId,
    pub(crate) psid: Psid,
    pub(crate) topic_key: TopicKey,
    pub(crate) topic_title: Title,
    pub(crate) kind: GrantKind,
    pub(crate) token: Token,
    pub(crate) payload: String,
    pub(crate) opted_in_ms: i64,
    pub(crate) expires_ms: Option<i64>,
    /// The person's erasure key on the page ([`super::erasure::person_key`]), set by the use
    /// case: an opt-in made before the person was forgotten is not recorded.
    pub(crate) erasure_key: Option<String>,
}

/// Which recipients a listing or a send is about, by their tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TagFilter {
    pub(crate) all_of: Vec<Tag>,
    pub(crate) any_of: Vec<Tag>,
    pub(crate) none_of: Vec<Tag>,
}

impl TagFilter {
    /// Whether the filter lets everyone through.
    pub(crate) fn is_empty(&self) -> bool {
        self.all_of.is_empty() && self.any_of.is_empty() && self.none_of.is_empty()
    }
}

/// The audience filters shared by ListEligible and SendNotification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EligibleQuery {
    pub(crate) page_id: PageId,
    pub(crate) topic_key: TopicKey,
    pub(crate) tags: TagFilter,
    pub(crate) regions: Vec<Region>,
}

/// What to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RevokeTarget {
    /// One grant.
    Grant(i64),
    /// Every usable grant of a person on a topic.
    Topic {
        page_id: PageId,
        psid: Psid,
        topic_key: TopicKey,
    },
}

/// A grant as the policy engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrantFacts {
    pub(crate) id: i64,
    pub(crate) kind: GrantKind,
    pub(crate) state: GrantState,
    pub(crate) opted_in_ms: i64,
    pub(crate) expires_ms: Option<i64>,
    pub(crate) last_sent_ms: Option<i64>,
}

impl GrantFacts {
    /// Whether the grant may be spent at `now_ms`.
    pub(crate) fn usable(&self, now_ms: i64) -> bool {
        usable(self.state, self.expires_ms, now_ms)
    }
}

/// A person as the policy engine sees them, with their grants on the topic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct PersonFacts {
    pub(crate) region: Option<String>,
    pub(crate) last_interaction_ms: Option<i64>,
    pub(crate) grants: Vec<GrantFacts>,
}

/// Why someone without a usable grant has none (see [`STATE_REASONS`]).
pub(crate) fn state_reason(grants: &[GrantFacts], now_ms: i64) -> ExclusionReason {
    if grants.is_empty() {
        return ExclusionReason::NoGrant;
    }
    STATE_REASONS
        .iter()
        .find(|(_, test)| {
            grants
                .iter()
                .any(|g| test.holds(g.state, g.expires_ms, now_ms))
        })
        .map_or(NO_USABLE_FALLBACK, |(reason, _)| *reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(state: GrantState, expires_ms: Option<i64>) -> GrantFacts {
        GrantFacts {
            id: 1,
            kind: GrantKind::OneTimeNotification,
            state,
            opted_in_ms: 0,
            expires_ms,
            last_sent_ms: None,
        }
    }

    #[test]
    fn only_an_active_unexpired_grant_is_usable() {
        assert!(g(GrantState::Active, None).usable(10));
        assert!(g(GrantState::Active, Some(11)).usable(10));
        assert!(!g(GrantState::Active, Some(10)).usable(10));
        for s in GrantState::ALL.iter().filter(|s| **s != GrantState::Active) {
            assert!(!g(*s, None).usable(10), "{s:?}");
        }
    }

    #[test]
    fn reasons_are_told_in_the_documented_order() {
        use GrantState::*;
        let now = 10;
        let case = |grants: Vec<GrantFacts>| state_reason(&grants, now);
        assert_eq!(case(vec![]), ExclusionReason::NoGrant);
        assert_eq!(
            case(vec![g(Consumed, None), g(Reserved, None)]),
            ExclusionReason::Reserved
        );
        assert_eq!(
            case(vec![g(Consumed, None), g(Stopped, None)]),
            ExclusionReason::Stopped
        );
        assert_eq!(
            case(vec![g(Consumed, None), g(Active, Some(5))]),
            ExclusionReason::Expired
        );
        assert_eq!(
            case(vec![g(Invalid, None), g(Consumed, None)]),
            ExclusionReason::Consumed
        );
        assert_eq!(
            case(vec![g(Revoked, None), g(Invalid, None)]),
            ExclusionReason::Invalid
        );
        assert_eq!(case(vec![g(Revoked, None)]), ExclusionReason::Revoked);
    }
}
