//! What Meta's answers mean: one table from (code, subcode) to a class, as section 7 of the
//! platform notes says, plus the two unverified rows (which refusal means "this token was
//! spent" and which means "this token is invalid") taken from configuration.

use std::time::Duration;

use super::graph::GraphError;

/// What to do about a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Temporary; retry with backoff.
    Retry,
    /// Rate limited; retry slower (after the given wait, if Meta said).
    RateLimited(Option<Duration>),
    /// The outcome is unknown (timeout, reset, any 5xx whatever its body); a retry is safe for
    /// token sends.
    Ambiguous,
    /// A reusable token inside its cooldown; retry after the cooldown, not now.
    Cooldown,
    /// The person cannot be messaged right now (`min_conversation_gap_seconds`): retry later
    /// for that person; the token is fine.
    PersonBusy,
    /// Outside the 24-hour window.
    OutsideWindow,
    /// The person cannot receive messages, or blocked the page.
    Unreachable,
    /// The person stopped notifications for the topic: the grant is stopped.
    Stopped,
    /// Meta refused the token as already spent: after an ambiguous attempt, that attempt
    /// got through.
    TokenSpent,
    /// Meta refused the token as unknown or expired: the grant is dead.
    TokenInvalid,
    /// Any other invalid parameter (the grant is not blamed).
    InvalidParameter,
    /// The page access token is rejected: pause the page.
    PageToken,
    /// The page is restricted: pause the page.
    PageRestricted,
    /// The same opt-in request was sent within a week / too many requests.
    OptInRefused,
    /// Anything else Meta refused.
    Refused,
}

impl Class {
    /// A stable reason string for delivery failures and events.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Class::Retry => "TEMPORARY",
            Class::RateLimited(_) => "RATE_LIMITED",
            Class::Ambiguous => "UNKNOWN_OUTCOME",
            Class::Cooldown => "COOLDOWN",
            Class::PersonBusy => "PERSON_UNAVAILABLE_NOW",
            Class::OutsideWindow => "OUTSIDE_WINDOW",
            Class::Unreachable => "UNREACHABLE",
            Class::Stopped => "STOPPED",
            Class::TokenSpent => "TOKEN_SPENT",
            Class::TokenInvalid => "TOKEN_INVALID",
            Class::InvalidParameter => "INVALID_PARAMETER",
            Class::PageToken => "PAGE_TOKEN_INVALID",
            Class::PageRestricted => "PAGE_RESTRICTED",
            Class::OptInRefused => "OPT_IN_REFUSED",
            Class::Refused => "REFUSED",
        }
    }
}

/// A row of the table: a code, a subcode (`None`: any), and its class.
type Row = (i32, Option<i32>, Class);

/// Meta's documented errors, most specific first (section 7 and the 2026 changes).
const TABLE: &[Row] = &[
    (4, Some(2018354), Class::Cooldown),
    (613, Some(1893016), Class::OptInRefused),
    (9, Some(2018352), Class::OptInRefused),
    (10, Some(2018278), Class::OutsideWindow),
    (10, Some(1893015), Class::Stopped),
    (10, Some(1893063), Class::PageRestricted),
    (10, Some(2018108), Class::Unreachable),
    (200, Some(1545041), Class::Unreachable),
    (551, None, Class::Unreachable),
    (4, None, Class::RateLimited(None)),
    (613, None, Class::RateLimited(None)),
    (80006, None, Class::RateLimited(None)),
    (17, None, Class::RateLimited(None)),
    (32, None, Class::RateLimited(None)),
    (1200, None, Class::Retry),
    (2, None, Class::Retry),
    (190, None, Class::PageToken),
    (100, None, Class::InvalidParameter),
];

/// The subcode of `min_conversation_gap_seconds` refusals ("This person is not available
/// right now", Marketing Message API, 2026-06-11); it arrives with varying codes.
const PERSON_BUSY_SUBCODE: i32 = 2300052;

/// Classifies Meta's errors; the token rows are configuration because Meta does not document
/// them (messenger-platform.md section 4).
#[derive(Debug, Clone)]
pub(crate) struct Classifier {
    /// Subcodes of code 100 that mean "this single-use token was already spent".
    spent_token_subcodes: Vec<i32>,
    /// Subcodes of code 100 that mean "this token is unknown or expired".
    invalid_token_subcodes: Vec<i32>,
}

impl Classifier {
    /// A classifier with these token rows.
    pub(crate) fn new(spent_token_subcodes: Vec<i32>, invalid_token_subcodes: Vec<i32>) -> Self {
        Self {
            spent_token_subcodes,
            invalid_token_subcodes,
        }
    }

    /// The class of a failed call.
    pub(crate) fn class(&self, e: &GraphError) -> Class {
        let (status, code, subcode, regain) = match e {
            GraphError::Transport(_) => return Class::Ambiguous,
            GraphError::Api {
                status,
                code,
                subcode,
                regain_after,
                ..
            } => (*status, *code, *subcode, *regain_after),
        };
        // A 5xx leaves the outcome unknown whatever its body says: Meta may have accepted the
        // message before failing (a 500 with `{"code": 2, "is_transient": true}`).
        if status >= 500 {
            return Class::Ambiguous;
        }
        if subcode == PERSON_BUSY_SUBCODE {
            return Class::PersonBusy;
        }
        if code == 100 && self.spent_token_subcodes.contains(&subcode) {
            return Class::TokenSpent;
        }
        if code == 100 && self.invalid_token_subcodes.contains(&subcode) {
            return Class::TokenInvalid;
        }
        let row = TABLE
            .iter()
            .find(|(c, s, _)| *c == code && s.is_none_or(|s| s == subcode));
        match row {
            Some((_, _, Class::RateLimited(_))) => Class::RateLimited(regain),
            Some((_, _, class)) => *class,
            None => Class::Refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: i32, subcode: i32) -> GraphError {
        GraphError::Api {
            status,
            code,
            subcode,
            message: String::new(),
            regain_after: None,
        }
    }

    fn classifier() -> Classifier {
        Classifier::new(vec![2018310], vec![2018311, 2018312])
    }

    #[test]
    fn errors_are_classified_as_the_platform_table_says() {
        let c = classifier();
        let cases = [
            (api(400, 2, 0), Class::Retry),
            (api(400, 1200, 0), Class::Retry),
            (api(400, 613, 0), Class::RateLimited(None)),
            (api(400, 4, 2018354), Class::Cooldown),
            (api(400, 10, 2018278), Class::OutsideWindow),
            (api(400, 10, 1893015), Class::Stopped),
            (api(400, 10, 1893063), Class::PageRestricted),
            (api(400, 200, 1545041), Class::Unreachable),
            (api(400, 100, 0), Class::InvalidParameter),
            (api(400, 100, 2018001), Class::InvalidParameter),
            (api(400, 100, 2018310), Class::TokenSpent),
            (api(400, 100, 2018312), Class::TokenInvalid),
            (api(400, 190, 0), Class::PageToken),
            (api(400, 613, 1893016), Class::OptInRefused),
            (api(400, 10, 2300052), Class::PersonBusy),
            (api(400, 999, 0), Class::Refused),
            (api(502, 0, 0), Class::Ambiguous),
            (api(500, 2, 0), Class::Ambiguous),
            (api(500, 100, 2018310), Class::Ambiguous),
            (GraphError::Transport("reset".into()), Class::Ambiguous),
        ];
        for (e, want) in cases {
            assert_eq!(c.class(&e), want, "{e:?}");
        }
    }
}
