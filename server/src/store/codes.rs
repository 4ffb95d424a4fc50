//! The one translation of the domain's words to the integers stored in SQL. The numbers are
//! the schema: never renumber one (they also happen to match the proto's, which nothing relies
//! on). Migrations derive their index predicates from these codes.

use sea_orm::Value;
use sea_orm::sea_query::{Expr, SimpleExpr};

use crate::domain::funnel::FunnelStep;
use crate::domain::vocab::{
    DeliveryPath, DeliveryState, EventKind, ExclusionReason, GrantKind, GrantState,
    InteractionKind, MessageTag, NotificationState, OptInTemplate,
};
use crate::error::{Error, Result};

/// A domain word stored as an integer.
pub(crate) trait Code: Copy + Sized + 'static {
    /// The table of every word and its code.
    const CODES: &'static [(Self, i32)];
    /// The column's name, for error messages.
    const WHAT: &'static str;

    /// The stored integer.
    fn code(self) -> i32
    where
        Self: PartialEq,
    {
        Self::CODES
            .iter()
            .find(|(w, _)| *w == self)
            .map_or(0, |(_, c)| *c)
    }

    /// The word stored as `code`, or an internal error (a row the schema does not allow).
    fn from_code(code: i32) -> Result<Self> {
        Self::CODES
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(w, _)| *w)
            .ok_or_else(|| Error::Internal(format!("unknown {} code {code}", Self::WHAT)))
    }

    /// The code as a bound SQL value.
    fn value(self) -> Value
    where
        Self: PartialEq,
    {
        Value::from(self.code())
    }

    /// The code written into the statement, not bound: for a condition that must match a
    /// partial index's predicate (`state = 1`). PostgreSQL settles on a generic plan for a
    /// prepared statement after a few runs, and a generic plan cannot use a partial index
    /// whose predicate compares with a parameter — the 100k fan-out's claims scanned every
    /// delivery of the page that way.
    fn literal(self) -> SimpleExpr
    where
        Self: PartialEq,
    {
        Expr::cust(self.code().to_string())
    }
}

macro_rules! codes {
    ($t:ident, $what:literal, { $($v:ident = $n:literal),+ $(,)? }) => {
        impl Code for $t {
            const CODES: &'static [(Self, i32)] = &[$(($t::$v, $n)),+];
            const WHAT: &'static str = $what;
        }
    };
}

codes!(GrantKind, "grant kind", {
    OneTimeNotification = 1, MarketingMessages = 2, MarketingSubscription = 3,
});
codes!(GrantState, "grant state", {
    Active = 1, Reserved = 2, Consumed = 3, Expired = 4, Stopped = 5, Revoked = 6, Invalid = 7,
});
codes!(NotificationState, "notification state", {
    Scheduled = 1, Dispatching = 2, Completed = 3, Cancelled = 4, Planned = 5,
});
codes!(DeliveryState, "delivery state", {
    Queued = 1, Sending = 2, Sent = 3, Delivered = 4, Read = 5, Failed = 6, Cancelled = 7,
    Unconfirmed = 8,
});
codes!(DeliveryPath, "delivery path", { Grant = 1, Window = 2, Tag = 3 });
codes!(EventKind, "event kind", {
    Queued = 1, Sent = 2, Delivered = 3, Read = 4, Failed = 5, GrantConsumed = 6,
    OptInRecorded = 7, Engaged = 8, Cancelled = 9, RetryScheduled = 10, GrantRevoked = 11,
    RecipientForgotten = 12, GrantStopped = 13, GrantResumed = 14, GrantAssigned = 15,
    Unconfirmed = 16, Deferred = 30, OptInRequested = 40, Clicked = 41, GrantExpired = 42,
});
codes!(FunnelStep, "funnel step", {
    OptInRequested = 1, OptedIn = 2, GrantUsed = 3, Queued = 4, Sent = 5, Delivered = 6,
    Read = 7, Engaged = 8, EngagedMessage = 9, EngagedPostback = 10, Clicked = 11, Failed = 12,
    Unconfirmed = 13, Cancelled = 14, GrantExpired = 15, GrantStopped = 16, GrantResumed = 17,
    GrantRevoked = 18,
});
codes!(InteractionKind, "interaction kind", {
    Message = 1, Postback = 2, Reaction = 3, Referral = 4,
});
codes!(ExclusionReason, "exclusion reason", {
    NoGrant = 1, Expired = 2, Stopped = 3, Consumed = 4, Reserved = 5, Revoked = 6, Invalid = 7,
    TagFilter = 8, RegionFilter = 9, RegionPolicy = 10, Cooldown = 11, MaxRecipients = 12,
    TagRetired = 13, KindNotSupported = 14, FrequencyCap = 30, QuietHours = 31,
});
codes!(OptInTemplate, "opt-in template", { OneTimeNotification = 1, NotificationMessages = 2 });
codes!(MessageTag, "message tag", {
    ConfirmedEventUpdate = 1, PostPurchaseUpdate = 2, AccountUpdate = 3,
});

/// The codes of several words, for `IN (…)`.
pub(crate) fn values<T: Code + PartialEq>(words: &[T]) -> Vec<Value> {
    words.iter().map(|w| w.value()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Code + PartialEq + std::fmt::Debug>(all: &[T]) {
        assert_eq!(
            T::CODES.len(),
            all.len(),
            "{}: every word has a code",
            T::WHAT
        );
        for w in all {
            assert_eq!(T::from_code(w.code()).unwrap(), *w);
        }
        let mut codes: Vec<i32> = T::CODES.iter().map(|(_, c)| *c).collect();
        codes.dedup();
        assert_eq!(codes.len(), all.len(), "{}: codes are distinct", T::WHAT);
    }

    #[test]
    fn every_word_has_one_distinct_code() {
        round_trips(GrantKind::ALL);
        round_trips(GrantState::ALL);
        round_trips(NotificationState::ALL);
        round_trips(DeliveryState::ALL);
        round_trips(DeliveryPath::ALL);
        round_trips(EventKind::ALL);
        round_trips(ExclusionReason::ALL);
        round_trips(OptInTemplate::ALL);
        round_trips(MessageTag::ALL);
        round_trips(&FunnelStep::ALL);
        round_trips(InteractionKind::ALL);
        assert!(GrantState::from_code(99).is_err());
    }
}
