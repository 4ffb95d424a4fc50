//! Which failures are retried, how often, and how long to wait: exponential backoff with jitter, or the server's RetryInfo.

use std::time::Duration;

use tonic::Code;

use crate::error::Error;

/// How the SDK retries a call that failed in a way that is safe to repeat.
///
/// A call is retried on `UNAVAILABLE`; calls that are idempotent by their `request_id`
/// (RequestOptIn, SendNotification) and reads (ListEligible, GetNotification) are also
/// retried on `ABORTED` and `DEADLINE_EXCEEDED`. Nothing else is retried. The wait before
/// attempt *n + 1* is the server's `google.rpc.RetryInfo` delay when it sent one (at most
/// `max_server_delay`), else `initial_backoff * multiplier^(n-1)` capped at `max_backoff`,
/// with "equal jitter" (a random point in the upper half).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The backoff before the first retry.
    pub initial_backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
    /// The growth of the backoff per attempt.
    pub multiplier: f64,
    /// The longest server-requested delay honoured; a longer one ends the retries.
    pub max_server_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            multiplier: 2.0,
            max_server_delay: Duration::from_secs(30),
        }
    }
}

/// How safe a call is to repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Safety {
    /// Idempotent on its request_id, or a pure read.
    Idempotent,
    /// Anything else: retried on UNAVAILABLE only.
    Other,
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The backoff before retry number `retry` (1 for the first retry), without jitter.
    pub fn base_backoff(&self, retry: u32) -> Duration {
        let exp = self
            .multiplier
            .max(1.0)
            .powi(retry.saturating_sub(1).min(63) as i32);
        let secs = self.initial_backoff.as_secs_f64() * exp;
        Duration::from_secs_f64(secs.min(self.max_backoff.as_secs_f64()))
    }

    /// The backoff before retry number `retry`, with jitter: uniform in `[base/2, base]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let base = self.base_backoff(retry);
        let half = base / 2;
        let spread = (base - half).as_nanos() as u64;
        half + Duration::from_nanos(rand::random_range(0..=spread))
    }

    /// Whether `err`, the outcome of attempt number `attempt` (1-based), should be retried,
    /// and after how long.
    pub(crate) fn next_delay(&self, safety: Safety, attempt: u32, err: &Error) -> Option<Duration> {
        if attempt >= self.max_attempts || !retryable(safety, err) {
            return None;
        }
        match err.retry_delay() {
            Some(d) if d > self.max_server_delay => None,
            Some(d) => Some(d),
            None => Some(self.backoff(attempt)),
        }
    }
}

/// Whether an error of a call of this safety may be retried at all.
pub(crate) fn retryable(safety: Safety, err: &Error) -> bool {
    if err.is_local() {
        return false;
    }
    match err.code() {
        Code::Unavailable => true,
        Code::Aborted | Code::DeadlineExceeded => safety == Safety::Idempotent,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Status;
    use tonic_types::{ErrorDetails, StatusExt};

    fn err(code: Code) -> Error {
        Error::from(Status::new(code, "x"))
    }

    #[test]
    fn only_unavailable_is_retried_for_other_calls() {
        let p = RetryPolicy::default();
        assert!(
            p.next_delay(Safety::Other, 1, &err(Code::Unavailable))
                .is_some()
        );
        for c in [
            Code::Aborted,
            Code::DeadlineExceeded,
            Code::Internal,
            Code::NotFound,
        ] {
            assert!(p.next_delay(Safety::Other, 1, &err(c)).is_none(), "{c:?}");
        }
    }

    #[test]
    fn idempotent_calls_also_retry_aborted_and_deadline_exceeded() {
        let p = RetryPolicy::default();
        for c in [Code::Unavailable, Code::Aborted, Code::DeadlineExceeded] {
            assert!(
                p.next_delay(Safety::Idempotent, 1, &err(c)).is_some(),
                "{c:?}"
            );
        }
        for c in [
            Code::InvalidArgument,
            Code::FailedPrecondition,
            Code::AlreadyExists,
            Code::Internal,
            Code::Unknown,
        ] {
            assert!(
                p.next_delay(Safety::Idempotent, 1, &err(c)).is_none(),
                "{c:?}"
            );
        }
        assert!(
            p.next_delay(Safety::Idempotent, 1, &Error::invalid("f", "bad"))
                .is_none()
        );
    }

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy::default();
        let e = err(Code::Unavailable);
        assert!(p.next_delay(Safety::Other, 3, &e).is_some());
        assert!(p.next_delay(Safety::Other, 4, &e).is_none());
        assert!(
            RetryPolicy::none()
                .next_delay(Safety::Other, 1, &e)
                .is_none()
        );
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered_within_bounds() {
        let p = RetryPolicy::default();
        assert_eq!(p.base_backoff(1), Duration::from_millis(100));
        assert_eq!(p.base_backoff(2), Duration::from_millis(200));
        assert_eq!(p.base_backoff(4), Duration::from_millis(800));
        assert_eq!(p.base_backoff(60), Duration::from_secs(5));
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let d = p.backoff(3);
            assert!(d >= Duration::from_millis(200) && d <= Duration::from_millis(400));
            seen.insert(d);
        }
        assert!(seen.len() > 10, "jitter varies the delay");
    }

    #[test]
    fn the_servers_retry_info_is_honoured_up_to_a_bound() {
        let p = RetryPolicy::default();
        let with_delay = |d: Duration| {
            let mut details = ErrorDetails::new();
            details.set_retry_info(Some(d));
            Error::from(Status::with_error_details(Code::Unavailable, "x", details))
        };
        let e = with_delay(Duration::from_millis(1234));
        assert_eq!(
            p.next_delay(Safety::Other, 1, &e),
            Some(Duration::from_millis(1234))
        );
        let e = with_delay(Duration::from_secs(600));
        assert_eq!(p.next_delay(Safety::Other, 1, &e), None);
    }
}
