//! From a Send API result to a delivery outcome, as messenger-platform.md section 7 says.

use std::time::Duration;

use crate::domain::event::Failure;
use crate::domain::outcome::{Claimed, GrantAfter, Outcome};
use crate::domain::vocab::{DeliveryPath, GrantState};
use crate::messenger::errors::{Class, Classifier};
use crate::messenger::graph::{GraphError, Sent};
use crate::messenger::wire;

/// Retry tuning.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub(crate) max_attempts: i32,
    pub(crate) base: Duration,
    pub(crate) max: Duration,
}

impl RetryPolicy {
    /// Exponential backoff with full jitter for attempt `n` (1-based).
    pub(crate) fn backoff(&self, attempt: i32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.clamp(1, 16).saturating_sub(1) as u32);
        let cap = exp.min(self.max);
        let jitter: f64 = rand::random();
        cap.mul_f64(0.5 + jitter / 2.0)
    }
}

/// What the page needs after a result (applied on every replica, through the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageAction {
    None,
    /// Stop sending for this page for a while, for this reason (a rate limit with a wait, a
    /// rejected access token, a restriction).
    Pause(Duration, &'static str),
    /// Push the page's next send slot this far out (a rate limit without a wait).
    Slow(Duration),
}

fn failure(e: &GraphError, class: Class) -> Failure {
    let (code, subcode) = e.codes();
    Failure {
        reason: class.reason().to_string(),
        code,
        subcode,
        message: e.to_string(),
    }
}

/// Decides the outcome of one attempt, made at `started_ms`; `reusable`: the grant allows more
/// than one message.
///
/// A send is FAILED only when no attempt of it may have reached Meta; after an ambiguous
/// attempt (a timeout, a reset, any 5xx, a lapsed lease) it ends SENT on evidence (a refusal
/// of its spent single-use token) or UNCONFIRMED without any, its grant spent either way.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decide(
    c: &Claimed,
    result: Result<Sent, GraphError>,
    classifier: &Classifier,
    policy: &RetryPolicy,
    now_ms: i64,
    started_ms: i64,
    page_pause: Duration,
    reusable: bool,
) -> (Outcome, PageAction) {
    let e = match result {
        Ok(s) => {
            return (
                Outcome::Sent {
                    message_id: s.message_id,
                    meta_ms: Some(started_ms),
                },
                PageAction::None,
            );
        }
        Err(e) => e,
    };
    let later = |d: Duration| now_ms + d.as_millis() as i64;
    // The token this send carried, if any.
    let field = c
        .grant
        .as_ref()
        .filter(|_| c.path == DeliveryPath::Grant)
        .map(|g| wire::token_field(g.kind));
    let class = classifier.class(&e);
    let give_up = |grant: GrantAfter| Outcome::given_up(c.ambiguous, failure(&e, class), grant);
    let retry = |d: Duration, ambiguous: bool| {
        if c.attempts >= policy.max_attempts {
            let mut f = failure(&e, class);
            f.reason = format!("GAVE_UP_{}", f.reason);
            Outcome::given_up(c.ambiguous || ambiguous, f, GrantAfter::Release)
        } else {
            Outcome::Retry {
                at_ms: later(d),
                failure: failure(&e, class),
                ambiguous,
            }
        }
    };
    let names_this_token = match class {
        Class::TokenRefused { field: named } => field == Some(named),
        Class::TokenSpent | Class::TokenInvalid => field.is_some(),
        _ => false,
    };
    match class {
        Class::Ambiguous => (retry(policy.backoff(c.attempts), true), PageAction::None),
        Class::Retry | Class::PersonBusy => {
            (retry(policy.backoff(c.attempts), false), PageAction::None)
        }
        Class::RateLimited(wait) => {
            let d = wait.unwrap_or_else(|| policy.backoff(c.attempts));
            let action = match wait {
                Some(w) => PageAction::Pause(w, "rate_limited"),
                None => PageAction::Slow(d),
            };
            (retry(d, false), action)
        }
        // After an attempt whose outcome is unknown, Meta refusing a single-use token means
        // that attempt spent it: the message went out. Only that refusal says so.
        Class::TokenRefused { .. } | Class::TokenSpent
            if names_this_token && c.ambiguous && !reusable =>
        {
            (
                Outcome::Sent {
                    message_id: String::new(),
                    meta_ms: None,
                },
                PageAction::None,
            )
        }
        // Otherwise the token is dead (a reusable one refused after an ambiguous attempt
        // says nothing of that attempt).
        Class::TokenRefused { .. } | Class::TokenSpent | Class::TokenInvalid
            if names_this_token =>
        {
            (
                give_up(GrantAfter::Mark(GrantState::Invalid)),
                PageAction::None,
            )
        }
        Class::Stopped => (
            give_up(GrantAfter::Mark(GrantState::Stopped)),
            PageAction::None,
        ),
        Class::PageToken | Class::PageRestricted => (
            Outcome::Requeue {
                at_ms: later(page_pause),
            },
            PageAction::Pause(
                page_pause,
                match class {
                    Class::PageToken => "page_token_rejected",
                    _ => "page_restricted",
                },
            ),
        ),
        Class::TokenRefused { .. }
        | Class::TokenSpent
        | Class::TokenInvalid
        | Class::InvalidParameter
        | Class::Cooldown
        | Class::OutsideWindow
        | Class::Unreachable
        | Class::OptInRefused
        | Class::Refused => (give_up(GrantAfter::Release), PageAction::None),
    }
}

#[cfg(test)]
#[path = "outcome_tests.rs"]
mod tests;
