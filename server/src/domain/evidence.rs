//! What Meta's echo of one of otn's messages (`message_echoes` carrying otn's metadata) proves
//! about its delivery: Meta accepted the message, whatever the Send API answered.

use super::event::Failure;
use super::outcome::Outcome;
use super::vocab::{DeliveryState, GrantState};

/// Meta's echo of a message otn sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Echo {
    /// The message's id.
    pub(crate) mid: String,
    /// Meta's `timestamp` of the message (epoch ms on Meta's clock, the clock of watermarks).
    pub(crate) at_ms: i64,
}

/// What an echo does to the delivery it names, by the delivery's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EchoStep {
    /// An attempt is in flight: the echo is kept, and the attempt's outcome is read with it.
    Keep,
    /// Meta accepted it: SENT, with the echo's mid and time. `settle`: it was not final yet
    /// (its notification stops waiting for it); `grant_from`: its grant is spent if it is in
    /// that state (still held for it, or given back by a failure).
    Confirm {
        settle: bool,
        grant_from: Option<GrantState>,
    },
    /// SENT already (a spent-token refusal said so) but without a mid: the echo's is attached,
    /// so receipts by mid apply.
    AttachMid,
    /// Nothing to learn: the mid is known, or the delivery was cancelled before any attempt.
    Known,
}

/// The step an echo takes on a delivery in `state` (`mid_known`: it has a message id).
pub(crate) fn on_echo(state: DeliveryState, mid_known: bool) -> EchoStep {
    use DeliveryState as S;
    match state {
        S::Sending => EchoStep::Keep,
        // Waiting to retry after an ambiguous attempt: that attempt got through.
        S::Queued => EchoStep::Confirm {
            settle: true,
            grant_from: Some(GrantState::Reserved),
        },
        // Given up without evidence: its grant was spent then.
        S::Unconfirmed => EchoStep::Confirm {
            settle: false,
            grant_from: None,
        },
        // Meta refused an attempt of a message it had accepted: what it echoed wins, and the
        // grant the failure gave back is spent (unless it was taken since).
        S::Failed => EchoStep::Confirm {
            settle: false,
            grant_from: Some(GrantState::Active),
        },
        S::Sent | S::Delivered | S::Read if !mid_known => EchoStep::AttachMid,
        S::Sent | S::Delivered | S::Read | S::Cancelled => EchoStep::Known,
    }
}

/// The outcome of an attempt read with an echo that arrived while it was in flight: SENT,
/// with the echo's mid and Meta's time of the message (unless the Send API named another
/// message, which then stands on its own).
pub(crate) fn with_echo(outcome: Outcome, echo: &Echo) -> Outcome {
    match outcome {
        Outcome::Sent {
            message_id,
            meta_ms,
        } if !message_id.is_empty() && message_id != echo.mid => Outcome::Sent {
            message_id,
            meta_ms,
        },
        _ => Outcome::Sent {
            message_id: echo.mid.clone(),
            meta_ms: Some(echo.at_ms),
        },
    }
}

/// Whether `outcome` could learn anything from an echo kept for it (only an answer that named
/// its message needs none).
pub(crate) fn wants_echo(outcome: &Outcome) -> bool {
    !matches!(outcome, Outcome::Sent { message_id, .. } if !message_id.is_empty())
}

/// The failure recorded when an ambiguous delivery still waiting for its retry is cancelled:
/// it is given up as UNCONFIRMED, never CANCELLED (an earlier attempt may have reached Meta).
pub(crate) fn cancelled_after_unknown_outcome() -> Failure {
    Failure {
        reason: "CANCELLED_AFTER_UNKNOWN_OUTCOME".into(),
        code: 0,
        subcode: 0,
        message: "cancelled while waiting to retry an attempt whose outcome is unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::outcome::GrantAfter;

    fn echo() -> Echo {
        Echo {
            mid: "m_1".into(),
            at_ms: 1_500,
        }
    }

    fn failure() -> Failure {
        Failure {
            reason: "UNKNOWN_OUTCOME".into(),
            code: 2,
            subcode: 0,
            message: String::new(),
        }
    }

    #[test]
    fn an_echo_of_a_message_whose_attempt_is_in_flight_is_kept_for_its_outcome() {
        assert_eq!(on_echo(DeliveryState::Sending, false), EchoStep::Keep);
    }

    #[test]
    fn an_echo_confirms_a_delivery_waiting_to_retry_and_spends_the_grant_held_for_it() {
        assert_eq!(
            on_echo(DeliveryState::Queued, false),
            EchoStep::Confirm {
                settle: true,
                grant_from: Some(GrantState::Reserved)
            }
        );
    }

    #[test]
    fn an_echo_confirms_an_unconfirmed_delivery_whose_grant_is_already_spent() {
        assert_eq!(
            on_echo(DeliveryState::Unconfirmed, false),
            EchoStep::Confirm {
                settle: false,
                grant_from: None
            }
        );
    }

    #[test]
    fn an_echo_overrules_a_failure_and_spends_the_grant_it_gave_back() {
        assert_eq!(
            on_echo(DeliveryState::Failed, false),
            EchoStep::Confirm {
                settle: false,
                grant_from: Some(GrantState::Active)
            }
        );
    }

    #[test]
    fn an_echo_gives_a_sent_delivery_without_a_mid_its_mid_and_changes_nothing_else() {
        for s in [
            DeliveryState::Sent,
            DeliveryState::Delivered,
            DeliveryState::Read,
        ] {
            assert_eq!(on_echo(s, false), EchoStep::AttachMid);
            assert_eq!(on_echo(s, true), EchoStep::Known, "redelivered: nothing");
        }
        assert_eq!(on_echo(DeliveryState::Cancelled, false), EchoStep::Known);
    }

    #[test]
    fn an_attempt_read_with_its_echo_is_sent_whatever_the_send_api_answered() {
        let outcomes = [
            Outcome::Retry {
                at_ms: 9,
                failure: failure(),
                ambiguous: true,
            },
            Outcome::Unconfirmed {
                failure: failure(),
                grant: GrantAfter::Spent,
            },
            Outcome::Failed {
                failure: failure(),
                grant: GrantAfter::Release,
            },
            Outcome::Requeue { at_ms: 9 },
            Outcome::Sent {
                message_id: String::new(),
                meta_ms: None,
            },
        ];
        for o in outcomes {
            assert!(wants_echo(&o), "{o:?}");
            assert_eq!(
                with_echo(o, &echo()),
                Outcome::Sent {
                    message_id: "m_1".into(),
                    meta_ms: Some(1_500)
                }
            );
        }
    }

    #[test]
    fn an_answer_that_named_its_message_needs_no_echo() {
        let o = Outcome::Sent {
            message_id: "m_2".into(),
            meta_ms: Some(1_000),
        };
        assert!(!wants_echo(&o));
        assert_eq!(with_echo(o.clone(), &echo()), o, "another message stands");
        let same = Outcome::Sent {
            message_id: "m_1".into(),
            meta_ms: Some(1_000),
        };
        assert_eq!(
            with_echo(same, &echo()),
            Outcome::Sent {
                message_id: "m_1".into(),
                meta_ms: Some(1_500)
            },
            "Meta's own time of the message"
        );
    }
}
