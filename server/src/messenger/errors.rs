//! What Meta's answers mean: one table from (code, subcode, the field a message names) to a
//! class, as section 7 of the platform notes and Meta's 2026 error table say, plus subcodes an
//! operator observed for spent or invalid tokens, taken from configuration (none by default).

use std::time::Duration;

use super::graph::GraphError;
use super::wire::{MARKETING_TOKEN_FIELD, ONE_TIME_TOKEN_FIELD};

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
    /// Meta refused the token in a code-100 refusal without a subcode that names its field
    /// (`field`), the way Meta words token refusals where it documents no subcode: after an
    /// ambiguous attempt with a single-use token, that attempt got through; otherwise the
    /// token is dead.
    TokenRefused { field: &'static str },
    /// A configured subcode said the token was already spent: as [`Class::TokenRefused`].
    TokenSpent,
    /// A configured subcode said the token is unknown or expired: the grant is dead.
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
            Class::TokenRefused { .. } => "TOKEN_REFUSED",
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

/// What a row asks of a refusal's subcode.
#[derive(Debug, Clone, Copy)]
enum Sub {
    /// Any subcode, or none.
    Any,
    /// Exactly this one.
    Is(i32),
    /// None at all (Meta words these refusals instead).
    Absent,
}

/// A row of the table: a code, its subcode, the one token field the message must name (where
/// Meta documents no subcode, its message names the field it refuses), and the class.
#[derive(Debug, Clone, Copy)]
struct Row {
    code: i32,
    sub: Sub,
    names: Option<&'static str>,
    class: Class,
}

const fn row(code: i32, sub: Sub, class: Class) -> Row {
    Row {
        code,
        sub,
        names: None,
        class,
    }
}

/// A code-100 refusal without a subcode naming the token `field`.
const fn refuses(field: &'static str) -> Row {
    Row {
        code: 100,
        sub: Sub::Absent,
        names: Some(field),
        class: Class::TokenRefused { field },
    }
}

/// Meta's documented errors, most specific first (section 7 and the 2026 changes). The token
/// rows hold whatever the rest of the sentence says ("(#100) notification_messages_token is
/// invalid" in Meta's 2026 table; a spent one-time token is worded the same way, naming the
/// field): a rule keyed on the field's name, not on words Meta may change.
const TABLE: &[Row] = &[
    row(4, Sub::Is(2018354), Class::Cooldown),
    row(613, Sub::Is(1893016), Class::OptInRefused),
    row(9, Sub::Is(2018352), Class::OptInRefused),
    row(10, Sub::Is(2018278), Class::OutsideWindow),
    row(10, Sub::Is(1893015), Class::Stopped),
    row(10, Sub::Is(1893063), Class::PageRestricted),
    row(10, Sub::Is(2018108), Class::Unreachable),
    row(200, Sub::Is(1545041), Class::Unreachable),
    row(551, Sub::Any, Class::Unreachable),
    row(4, Sub::Any, Class::RateLimited(None)),
    row(613, Sub::Any, Class::RateLimited(None)),
    row(80006, Sub::Any, Class::RateLimited(None)),
    row(17, Sub::Any, Class::RateLimited(None)),
    row(32, Sub::Any, Class::RateLimited(None)),
    row(1200, Sub::Any, Class::Retry),
    row(2, Sub::Any, Class::Retry),
    row(190, Sub::Any, Class::PageToken),
    refuses(ONE_TIME_TOKEN_FIELD),
    refuses(MARKETING_TOKEN_FIELD),
    row(100, Sub::Any, Class::InvalidParameter),
];

/// The one token field `message` names (`None` when it names none, or both: a refusal of a
/// malformed recipient lists every field it accepts).
fn named_token(message: &str) -> Option<&'static str> {
    let named: Vec<&'static str> = [ONE_TIME_TOKEN_FIELD, MARKETING_TOKEN_FIELD]
        .into_iter()
        .filter(|f| message.contains(f))
        .collect();
    match named[..] {
        [one] => Some(one),
        _ => None,
    }
}

impl Row {
    fn matches(&self, code: i32, subcode: i32, message: &str) -> bool {
        let sub = match self.sub {
            Sub::Any => true,
            Sub::Is(s) => s == subcode,
            Sub::Absent => subcode == 0,
        };
        self.code == code && sub && self.names.is_none_or(|f| named_token(message) == Some(f))
    }
}

/// The subcode of `min_conversation_gap_seconds` refusals ("This person is not available
/// right now", Marketing Message API, 2026-06-11); it arrives with varying codes.
const PERSON_BUSY_SUBCODE: i32 = 2300052;

/// Classifies Meta's errors. Meta documents no subcode for a spent or invalid token
/// (messenger-platform.md section 4): its refusals name the token's field, which the table
/// reads; subcodes an operator observes may be configured on top (empty by default).
#[derive(Debug, Clone)]
pub(crate) struct Classifier {
    /// Subcodes of code 100 an operator saw meaning "this single-use token was already spent".
    spent_token_subcodes: Vec<i32>,
    /// Subcodes of code 100 an operator saw meaning "this token is unknown or expired".
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
        let (status, code, subcode, message, regain) = match e {
            GraphError::Transport(_) => return Class::Ambiguous,
            GraphError::Api {
                status,
                code,
                subcode,
                message,
                regain_after,
            } => (*status, *code, *subcode, message.as_str(), *regain_after),
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
        let row = TABLE.iter().find(|r| r.matches(code, subcode, message));
        match row.map(|r| r.class) {
            Some(Class::RateLimited(_)) => Class::RateLimited(regain),
            Some(class) => class,
            None => Class::Refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: i32, subcode: i32) -> GraphError {
        said(status, code, subcode, "")
    }

    fn said(status: u16, code: i32, subcode: i32, message: &str) -> GraphError {
        GraphError::Api {
            status,
            code,
            subcode,
            message: message.into(),
            regain_after: None,
        }
    }

    /// The default: Meta documents no token subcodes.
    fn classifier() -> Classifier {
        Classifier::new(Vec::new(), Vec::new())
    }

    const ONE_TIME: Class = Class::TokenRefused {
        field: ONE_TIME_TOKEN_FIELD,
    };
    const MARKETING: Class = Class::TokenRefused {
        field: MARKETING_TOKEN_FIELD,
    };

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
            (api(400, 190, 0), Class::PageToken),
            (api(400, 613, 1893016), Class::OptInRefused),
            (api(400, 10, 2300052), Class::PersonBusy),
            (api(400, 999, 0), Class::Refused),
            (api(502, 0, 0), Class::Ambiguous),
            (api(500, 2, 0), Class::Ambiguous),
            (api(500, 1, 0), Class::Ambiguous),
            (GraphError::Transport("reset".into()), Class::Ambiguous),
        ];
        for (e, want) in cases {
            assert_eq!(c.class(&e), want, "{e:?}");
        }
    }

    #[test]
    fn a_spent_one_time_token_refused_by_its_field_name_is_a_token_refusal() {
        let e = said(
            400,
            100,
            0,
            "(#100) The one_time_notif_token has already been used",
        );
        assert_eq!(classifier().class(&e), ONE_TIME);
    }

    #[test]
    fn an_invalid_marketing_token_in_metas_2026_wording_is_a_token_refusal() {
        let e = said(400, 100, 0, "(#100) notification_messages_token is invalid");
        assert_eq!(classifier().class(&e), MARKETING);
    }

    #[test]
    fn the_field_name_decides_whatever_the_rest_of_the_sentence_says() {
        for m in [
            "(#100) The one_time_notif_token has expired",
            "(#100) Invalid one_time_notif_token",
            "one_time_notif_token: used",
        ] {
            assert_eq!(classifier().class(&said(400, 100, 0, m)), ONE_TIME, "{m}");
        }
    }

    #[test]
    fn no_matching_user_found_and_any_other_subcode_is_not_a_token_refusal() {
        let e = said(400, 100, 2018001, "(#100) No matching user found");
        assert_eq!(classifier().class(&e), Class::InvalidParameter);
        let e = said(
            400,
            100,
            2018310,
            "(#100) The one_time_notif_token has already been used",
        );
        assert_eq!(classifier().class(&e), Class::InvalidParameter);
    }

    #[test]
    fn a_refusal_that_lists_every_recipient_field_names_no_one_token() {
        let e = said(
            400,
            100,
            0,
            "(#100) recipient must have exactly one of id, one_time_notif_token, \
             notification_messages_token",
        );
        assert_eq!(classifier().class(&e), Class::InvalidParameter);
        let e = said(400, 100, 0, "(#100) param recipient must be non-empty.");
        assert_eq!(classifier().class(&e), Class::InvalidParameter);
    }

    #[test]
    fn a_token_refusal_under_another_code_or_a_5xx_is_not_one() {
        let words = "(#100) The one_time_notif_token has already been used";
        assert_eq!(
            classifier().class(&said(500, 100, 0, words)),
            Class::Ambiguous
        );
        assert_eq!(classifier().class(&said(400, 10, 0, words)), Class::Refused);
    }

    #[test]
    fn subcodes_an_operator_configured_still_classify_tokens() {
        let c = Classifier::new(vec![2018310], vec![2018311, 2018312]);
        assert_eq!(c.class(&api(400, 100, 2018310)), Class::TokenSpent);
        assert_eq!(c.class(&api(400, 100, 2018312)), Class::TokenInvalid);
        assert_eq!(c.class(&api(500, 100, 2018310)), Class::Ambiguous);
        assert_eq!(
            classifier().class(&api(400, 100, 2018310)),
            Class::InvalidParameter,
            "none by default"
        );
    }
}
