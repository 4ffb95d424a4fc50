//! Dispatch as the domain sees it: a claimed delivery with what its send needs, and the outcome
//! of one attempt.

use super::event::Failure;
use super::values::Token;
use super::vocab::{DeliveryPath, DeliveryState, EventKind, GrantKind, GrantState, MessageTag};

/// The grant a claimed delivery spends.
#[derive(Debug, Clone)]
pub(crate) struct ClaimedGrant {
    pub(crate) id: i64,
    pub(crate) kind: GrantKind,
    /// `None` when the grant's row is gone (erased) or its token cannot be read.
    pub(crate) token: Option<Token>,
}

/// One claimed delivery (plain data).
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub(crate) id: i64,
    /// The person's row (receipts and sends of one person meet on it).
    pub(crate) recipient_id: i64,
    pub(crate) notification_id: String,
    pub(crate) page_id: String,
    pub(crate) psid: String,
    pub(crate) topic_key: String,
    pub(crate) grant: Option<ClaimedGrant>,
    pub(crate) path: DeliveryPath,
    pub(crate) rule: String,
    pub(crate) message_tag: Option<MessageTag>,
    /// Attempts so far, this one included.
    pub(crate) attempts: i32,
    /// Whether an earlier attempt's outcome is unknown (it may have been accepted).
    pub(crate) ambiguous: bool,
    /// Meta's `message` object, rendered by `messenger::wire` when the notification was made.
    pub(crate) message: String,
    /// Who created the notification.
    pub(crate) actor: String,
    /// When the delivery was due (epoch ms) before this claim.
    pub(crate) due_ms: i64,
    /// The creating call's W3C `traceparent`, to continue its trace.
    pub(crate) trace_parent: Option<String>,
}

/// What to do with a grant after a send that was not accepted (or not known to be).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrantAfter {
    /// Not spent: usable again (only when no attempt may have reached Meta).
    Release,
    /// Meta said so: stopped or invalid.
    Mark(GrantState),
    /// Spent as an accepted message spends it: CONSUMED, or a reusable grant back to ACTIVE
    /// with its cooldown running (the message may have gone out).
    Spent,
}

/// The outcome of one claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Meta accepted it (or, after an ambiguous attempt, refused the spent token). `meta_ms`
    /// bounds Meta's own time of the message from below: when the accepted call started (its
    /// stamp falls between that and the answer), or `None` when an earlier, ambiguous attempt
    /// got through (the first attempt's start is used then).
    Sent {
        message_id: String,
        meta_ms: Option<i64>,
    },
    /// Try again at `at_ms`.
    Retry {
        at_ms: i64,
        failure: Failure,
        ambiguous: bool,
    },
    /// Given up, and Meta certainly did not deliver it.
    Failed { failure: Failure, grant: GrantAfter },
    /// Given up after an attempt that may have reached Meta, with no evidence either way: the
    /// grant is never given back (an echo may still confirm it later).
    Unconfirmed { failure: Failure, grant: GrantAfter },
    /// Not attempted (the page is paused or the process stops); back in the queue without
    /// counting an attempt.
    Requeue { at_ms: i64 },
}

impl Outcome {
    /// The end of a send that will not be tried again, for `failure`: FAILED only when no
    /// attempt may have reached Meta (`may_have_reached` is false); otherwise UNCONFIRMED, with
    /// the grant spent unless Meta said what became of the token (`Mark`).
    pub(crate) fn given_up(may_have_reached: bool, failure: Failure, grant: GrantAfter) -> Self {
        match (may_have_reached, grant) {
            (false, grant) => Outcome::Failed { failure, grant },
            (true, GrantAfter::Release) => Outcome::Unconfirmed {
                failure,
                grant: GrantAfter::Spent,
            },
            (true, grant) => Outcome::Unconfirmed { failure, grant },
        }
    }
}

/// A claimed delivery with its outcome.
#[derive(Debug, Clone)]
pub(crate) struct Completed {
    pub(crate) claimed: Claimed,
    pub(crate) outcome: Outcome,
    /// Whether the grant allows more than one message (it goes back to ACTIVE when sent).
    pub(crate) reusable: bool,
}

/// Where a grant goes from RESERVED once its delivery's outcome is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct GrantMove {
    pub(crate) to: GrantState,
    /// A reusable grant was sent again: its cooldown starts now.
    pub(crate) sent_again: bool,
}

/// What recording one outcome does: the state the delivery ends in (none while it is retried or
/// requeued), the events it appends, in order, and where its grant goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settlement {
    pub(crate) end: Option<DeliveryState>,
    pub(crate) events: Vec<EventKind>,
    pub(crate) grant: Option<GrantMove>,
}

/// The settlement of `outcome` for a delivery that spends a grant (`has_grant`) of a kind that
/// is `reusable` or not. An accepted message (or one given up but spent) consumes a one-time
/// grant and sends a reusable one back to ACTIVE with its cooldown running; a failure that
/// gives the grant back releases it; Meta's word on the token marks it.
pub(crate) fn settle(outcome: &Outcome, has_grant: bool, reusable: bool) -> Settlement {
    let spent = GrantMove {
        to: match reusable {
            true => GrantState::Active,
            false => GrantState::Consumed,
        },
        sent_again: reusable,
    };
    let (end, mut events, grant) = match outcome {
        Outcome::Requeue { .. } => (None, Vec::new(), None),
        Outcome::Retry { .. } => (None, vec![EventKind::RetryScheduled], None),
        Outcome::Sent { .. } => (
            Some(DeliveryState::Sent),
            vec![EventKind::Sent],
            Some(GrantAfter::Spent),
        ),
        Outcome::Failed { grant, .. } => (
            Some(DeliveryState::Failed),
            vec![EventKind::Failed],
            Some(*grant),
        ),
        Outcome::Unconfirmed { grant, .. } => (
            Some(DeliveryState::Unconfirmed),
            vec![EventKind::Unconfirmed],
            Some(*grant),
        ),
    };
    let grant = match (has_grant, grant) {
        (false, _) | (_, None) => None,
        (true, Some(GrantAfter::Spent)) => {
            events.push(EventKind::GrantConsumed);
            Some(spent)
        }
        (true, Some(GrantAfter::Release)) => Some(GrantMove {
            to: GrantState::Active,
            sent_again: false,
        }),
        (true, Some(GrantAfter::Mark(s))) => Some(GrantMove {
            to: s,
            sent_again: false,
        }),
    };
    Settlement { end, events, grant }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure() -> Failure {
        Failure {
            reason: "UNREACHABLE".into(),
            code: 10,
            subcode: 2018108,
            message: String::new(),
        }
    }

    #[test]
    fn a_send_no_attempt_of_which_may_have_reached_meta_fails_and_gives_its_grant_back() {
        let o = Outcome::given_up(false, failure(), GrantAfter::Release);
        assert!(matches!(
            o,
            Outcome::Failed {
                grant: GrantAfter::Release,
                ..
            }
        ));
    }

    #[test]
    fn a_send_that_may_have_reached_meta_is_never_failed_and_never_gives_its_grant_back() {
        let o = Outcome::given_up(true, failure(), GrantAfter::Release);
        assert!(matches!(
            o,
            Outcome::Unconfirmed {
                grant: GrantAfter::Spent,
                ..
            }
        ));
    }

    #[test]
    fn what_meta_said_of_the_token_holds_even_when_the_send_is_unconfirmed() {
        let dead = GrantAfter::Mark(GrantState::Invalid);
        let o = Outcome::given_up(true, failure(), dead);
        assert!(matches!(o, Outcome::Unconfirmed { grant, .. } if grant == dead));
        let o = Outcome::given_up(false, failure(), dead);
        assert!(matches!(o, Outcome::Failed { grant, .. } if grant == dead));
    }

    fn sent() -> Outcome {
        Outcome::Sent {
            message_id: "m".into(),
            meta_ms: None,
        }
    }

    #[test]
    fn an_accepted_message_consumes_a_one_time_grant_and_restarts_a_reusable_ones_cooldown() {
        let s = settle(&sent(), true, false);
        assert_eq!(s.end, Some(DeliveryState::Sent));
        assert_eq!(s.events, [EventKind::Sent, EventKind::GrantConsumed]);
        assert_eq!(
            s.grant.map(|g| (g.to, g.sent_again)),
            Some((GrantState::Consumed, false))
        );
        let s = settle(&sent(), true, true);
        assert_eq!(
            s.grant.map(|g| (g.to, g.sent_again)),
            Some((GrantState::Active, true))
        );
        let s = settle(&sent(), false, false);
        assert_eq!(
            (s.events, s.grant),
            (vec![EventKind::Sent], None),
            "a window send"
        );
    }

    #[test]
    fn a_retry_ends_nothing_and_moves_no_grant() {
        let retry = Outcome::Retry {
            at_ms: 1,
            failure: failure(),
            ambiguous: true,
        };
        let s = settle(&retry, true, false);
        assert_eq!((s.end, s.grant), (None, None));
        assert_eq!(s.events, [EventKind::RetryScheduled]);
        let s = settle(&Outcome::Requeue { at_ms: 1 }, true, false);
        assert!(s.events.is_empty() && s.end.is_none());
    }

    #[test]
    fn a_failure_releases_or_marks_and_an_unconfirmed_send_spends() {
        let f = Outcome::given_up(false, failure(), GrantAfter::Release);
        let s = settle(&f, true, false);
        assert_eq!(s.end, Some(DeliveryState::Failed));
        assert_eq!(s.grant.map(|g| g.to), Some(GrantState::Active));
        let f = Outcome::given_up(false, failure(), GrantAfter::Mark(GrantState::Stopped));
        assert_eq!(
            settle(&f, true, false).grant.map(|g| g.to),
            Some(GrantState::Stopped)
        );
        let u = Outcome::given_up(true, failure(), GrantAfter::Release);
        let s = settle(&u, true, false);
        assert_eq!(s.end, Some(DeliveryState::Unconfirmed));
        assert_eq!(s.events, [EventKind::Unconfirmed, EventKind::GrantConsumed]);
        assert_eq!(s.grant.map(|g| g.to), Some(GrantState::Consumed));
    }
}
