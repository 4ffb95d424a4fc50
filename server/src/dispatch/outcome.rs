//! From a Send API result to a delivery outcome, as messenger-platform.md section 7 says.

use std::time::Duration;

use crate::domain::event::Failure;
use crate::domain::grant::GrantState;
use crate::messenger::graph::{Class, GraphError, Sent};
use crate::store::completion::{GrantAfter, Outcome};
use crate::store::deliveries::Claimed;

/// Retry tuning.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    /// Exponential backoff with full jitter for attempt `n` (1-based).
    pub fn backoff(&self, attempt: i32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.clamp(1, 16).saturating_sub(1) as u32);
        let cap = exp.min(self.max);
        let jitter: f64 = rand::random();
        cap.mul_f64(0.5 + jitter / 2.0)
    }
}

/// What the page needs after a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAction {
    None,
    /// Stop sending for this page for a while (rate limit with a wait, or a rejected token).
    Pause(Duration),
}

fn failure(e: &GraphError) -> Failure {
    let (code, subcode) = e.codes();
    Failure {
        reason: e.reason().to_string(),
        code,
        subcode,
        message: e.to_string(),
    }
}

/// Decides the outcome of one attempt.
pub fn decide(
    c: &Claimed,
    result: Result<Sent, GraphError>,
    policy: &RetryPolicy,
    now_ms: i64,
    page_pause: Duration,
) -> (Outcome, PageAction) {
    let e = match result {
        Ok(s) => {
            return (
                Outcome::Sent {
                    message_id: s.message_id,
                },
                PageAction::None,
            );
        }
        Err(e) => e,
    };
    let later = |d: Duration| now_ms + d.as_millis() as i64;
    let is_grant = c.grant_id.is_some();
    let retry = |d: Duration, ambiguous: bool| {
        if c.attempts >= policy.max_attempts {
            let mut f = failure(&e);
            f.reason = format!("GAVE_UP_{}", f.reason);
            Outcome::Failed {
                failure: f,
                grant: GrantAfter::Release,
            }
        } else {
            Outcome::Retry {
                at_ms: later(d),
                failure: failure(&e),
                ambiguous,
            }
        }
    };
    match e.class() {
        Class::Ambiguous => (retry(policy.backoff(c.attempts), true), PageAction::None),
        Class::Retry => (retry(policy.backoff(c.attempts), false), PageAction::None),
        Class::RateLimited(wait) => {
            let d = wait.unwrap_or_else(|| policy.backoff(c.attempts));
            let action = wait.map_or(PageAction::None, PageAction::Pause);
            (retry(d, false), action)
        }
        // After an attempt whose outcome is unknown, Meta refusing the token means that
        // attempt spent it: the message went out.
        Class::InvalidParameter if is_grant && c.ambiguous == 1 => (
            Outcome::Sent {
                message_id: String::new(),
            },
            PageAction::None,
        ),
        Class::InvalidParameter => {
            let names_token = e.to_string().to_lowercase().contains("token");
            let grant = if is_grant && names_token {
                GrantAfter::Mark(GrantState::Invalid)
            } else {
                GrantAfter::Release
            };
            (
                Outcome::Failed {
                    failure: failure(&e),
                    grant,
                },
                PageAction::None,
            )
        }
        Class::Stopped => (
            Outcome::Failed {
                failure: failure(&e),
                grant: GrantAfter::Mark(GrantState::Stopped),
            },
            PageAction::None,
        ),
        Class::PageToken => (
            Outcome::Requeue {
                at_ms: later(page_pause),
            },
            PageAction::Pause(page_pause),
        ),
        Class::Cooldown
        | Class::OutsideWindow
        | Class::Unreachable
        | Class::OptInRefused
        | Class::Refused => (
            Outcome::Failed {
                failure: failure(&e),
                grant: GrantAfter::Release,
            },
            PageAction::None,
        ),
    }
}
