//! Dispatch as the domain sees it: a claimed delivery with what its send needs, and the outcome
//! of one attempt.

use super::event::Failure;
use super::values::Token;
use super::vocab::{DeliveryPath, GrantKind, GrantState, MessageTag};

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
}
