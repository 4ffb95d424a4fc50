//! One test per rule of the outcome table: what each answer of Meta's makes of a delivery and
//! its grant, before and after an attempt whose outcome is unknown.

use super::*;
use crate::domain::outcome::ClaimedGrant;
use crate::domain::values::Token;
use crate::domain::vocab::GrantKind;

const PAGE_PAUSE: Duration = Duration::from_secs(60);

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(10),
        max: Duration::from_millis(100),
    }
}

fn claimed(kind: GrantKind, attempts: i32, ambiguous: bool) -> Claimed {
    Claimed {
        id: 7,
        recipient_id: 1,
        notification_id: "n".into(),
        page_id: "p".into(),
        psid: "u1".into(),
        topic_key: "t".into(),
        grant: Some(ClaimedGrant {
            id: 3,
            kind,
            token: Some(Token::parse("t", "tok-1").unwrap()),
        }),
        path: DeliveryPath::Grant,
        rule: "r".into(),
        message_tag: None,
        attempts,
        ambiguous,
        message: r#"{"text":"hi"}"#.into(),
        actor: "k".into(),
        due_ms: 0,
        trace_parent: None,
    }
}

fn one_time(attempts: i32, ambiguous: bool) -> Claimed {
    claimed(GrantKind::OneTimeNotification, attempts, ambiguous)
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

const SPENT: &str = "(#100) The one_time_notif_token has already been used";

fn outcome(c: &Claimed, e: GraphError) -> Outcome {
    let reusable = c
        .grant
        .as_ref()
        .is_some_and(|g| g.kind == GrantKind::MarketingMessages);
    decide(
        c,
        Err(e),
        &Classifier::new(Vec::new(), Vec::new()),
        &policy(),
        1_000,
        900,
        PAGE_PAUSE,
        reusable,
    )
    .0
}

fn state_of(o: &Outcome) -> (&'static str, Option<GrantAfter>, String) {
    match o {
        Outcome::Sent { message_id, .. } => ("sent", None, message_id.clone()),
        Outcome::Retry { failure, .. } => ("retry", None, failure.reason.clone()),
        Outcome::Failed { failure, grant } => ("failed", Some(*grant), failure.reason.clone()),
        Outcome::Unconfirmed { failure, grant } => {
            ("unconfirmed", Some(*grant), failure.reason.clone())
        }
        Outcome::Requeue { .. } => ("requeue", None, String::new()),
    }
}

#[test]
fn an_accepted_call_is_sent_with_its_mid_and_the_calls_start_as_metas_time() {
    let ok = Ok(Sent {
        recipient_id: None,
        message_id: "m_1".into(),
    });
    let classifier = Classifier::new(Vec::new(), Vec::new());
    let (o, _) = decide(
        &one_time(1, true),
        ok,
        &classifier,
        &policy(),
        1_000,
        900,
        PAGE_PAUSE,
        false,
    );
    assert_eq!(
        o,
        Outcome::Sent {
            message_id: "m_1".into(),
            meta_ms: Some(900)
        }
    );
}

#[test]
fn a_spent_token_refusal_after_an_ambiguous_attempt_means_that_attempt_got_through() {
    let o = outcome(&one_time(2, true), said(400, 100, 0, SPENT));
    assert_eq!(
        o,
        Outcome::Sent {
            message_id: String::new(),
            meta_ms: None
        }
    );
}

#[test]
fn a_token_refusal_with_nothing_ambiguous_before_it_fails_and_kills_the_grant() {
    let o = outcome(&one_time(1, false), said(400, 100, 0, SPENT));
    assert_eq!(
        state_of(&o),
        (
            "failed",
            Some(GrantAfter::Mark(GrantState::Invalid)),
            "TOKEN_REFUSED".into()
        )
    );
}

#[test]
fn an_invalid_marketing_token_fails_and_its_grant_is_never_tried_again() {
    let c = claimed(GrantKind::MarketingMessages, 1, false);
    let o = outcome(
        &c,
        said(400, 100, 0, "(#100) notification_messages_token is invalid"),
    );
    assert_eq!(
        state_of(&o),
        (
            "failed",
            Some(GrantAfter::Mark(GrantState::Invalid)),
            "TOKEN_REFUSED".into()
        )
    );
}

#[test]
fn a_reusable_token_refused_after_an_ambiguous_attempt_is_dead_but_that_attempt_unknown() {
    let c = claimed(GrantKind::MarketingMessages, 2, true);
    let o = outcome(
        &c,
        said(400, 100, 0, "(#100) notification_messages_token is invalid"),
    );
    assert_eq!(
        state_of(&o),
        (
            "unconfirmed",
            Some(GrantAfter::Mark(GrantState::Invalid)),
            "TOKEN_REFUSED".into()
        )
    );
}

#[test]
fn a_refusal_naming_another_token_field_is_not_a_refusal_of_this_token() {
    let c = claimed(GrantKind::MarketingMessages, 2, true);
    let o = outcome(&c, said(400, 100, 0, SPENT));
    assert_eq!(state_of(&o).1, Some(GrantAfter::Spent), "{o:?}");
    let mut window = one_time(2, true);
    window.path = DeliveryPath::Window;
    window.grant = None;
    let o = outcome(&window, said(400, 100, 0, SPENT));
    assert!(matches!(o, Outcome::Unconfirmed { .. }), "{o:?}");
}

#[test]
fn no_matching_user_after_an_ambiguous_attempt_is_unconfirmed_and_keeps_the_grant_spent() {
    let e = || said(400, 100, 2018001, "(#100) No matching user found");
    let o = outcome(&one_time(2, true), e());
    assert_eq!(
        state_of(&o),
        (
            "unconfirmed",
            Some(GrantAfter::Spent),
            "INVALID_PARAMETER".into()
        )
    );
    let o = outcome(&one_time(1, false), e());
    assert_eq!(
        state_of(&o),
        (
            "failed",
            Some(GrantAfter::Release),
            "INVALID_PARAMETER".into()
        )
    );
}

#[test]
fn retries_that_never_stop_being_ambiguous_end_unconfirmed_never_failed() {
    let e = || said(500, 2, 0, "(#2) An unexpected error has occurred.");
    assert_eq!(state_of(&outcome(&one_time(2, true), e())).0, "retry");
    let o = outcome(&one_time(3, true), e());
    assert_eq!(
        state_of(&o),
        (
            "unconfirmed",
            Some(GrantAfter::Spent),
            "GAVE_UP_UNKNOWN_OUTCOME".into()
        )
    );
    // The last attempt alone being ambiguous is enough.
    let o = outcome(&one_time(3, false), e());
    assert_eq!(state_of(&o).0, "unconfirmed");
    let o = outcome(
        &one_time(3, false),
        GraphError::Transport("timed out".into()),
    );
    assert_eq!(state_of(&o).0, "unconfirmed");
}

#[test]
fn temporary_refusals_that_never_reached_meta_give_up_as_failed_with_the_grant_back() {
    let o = outcome(&one_time(3, false), said(400, 2, 0, "(#2) Temporary"));
    assert_eq!(
        state_of(&o),
        (
            "failed",
            Some(GrantAfter::Release),
            "GAVE_UP_TEMPORARY".into()
        )
    );
    let o = outcome(&one_time(3, true), said(400, 2, 0, "(#2) Temporary"));
    assert_eq!(state_of(&o).0, "unconfirmed", "an earlier attempt may have");
}

#[test]
fn a_stopped_token_is_marked_stopped_whether_or_not_an_attempt_may_have_gone_out() {
    let e = || said(400, 10, 1893015, "(#10) stopped");
    let c = claimed(GrantKind::MarketingMessages, 1, false);
    let stopped = Some(GrantAfter::Mark(GrantState::Stopped));
    assert_eq!(state_of(&outcome(&c, e())).1, stopped);
    assert_eq!(state_of(&outcome(&c, e())).0, "failed");
    let c = claimed(GrantKind::MarketingMessages, 2, true);
    assert_eq!(state_of(&outcome(&c, e())).1, stopped);
    assert_eq!(state_of(&outcome(&c, e())).0, "unconfirmed");
}

#[test]
fn a_restricted_page_or_rejected_page_token_requeues_without_deciding_anything() {
    for e in [
        said(400, 190, 0, "bad token"),
        said(400, 10, 1893063, "restricted"),
    ] {
        assert_eq!(state_of(&outcome(&one_time(2, true), e)).0, "requeue");
    }
}
