//! The policy engine's rules, one test each, on dates either side of each rule.

use super::*;
use crate::domain::grant::GrantFacts;
use crate::domain::vocab::{GrantKind, GrantState};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn at(date: &str) -> i64 {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

fn grant(id: i64, kind: GrantKind, state: GrantState, expires: Option<i64>) -> GrantFacts {
    GrantFacts {
        id,
        kind,
        state,
        opted_in_ms: 0,
        expires_ms: expires,
        last_sent_ms: None,
    }
}

fn person(region: Option<&str>, last: Option<i64>, grants: Vec<GrantFacts>) -> PersonFacts {
    PersonFacts {
        region: region.map(String::from),
        last_interaction_ms: last,
        grants,
    }
}

fn sent(d: &Decision) -> (DeliveryPath, Option<i64>) {
    match d {
        Decision::Send { path, grant_id, .. } => (*path, *grant_id),
        other => panic!("expected a send, got {other:?}"),
    }
}

fn excluded(d: &Decision) -> ExclusionReason {
    match d {
        Decision::Excluded { reason, .. } => *reason,
        other => panic!("expected an exclusion, got {other:?}"),
    }
}

#[test]
fn the_soonest_expiring_usable_grant_is_spent() {
    let p = Policy::builtin();
    let now = at("2026-11-01");
    let otn = GrantKind::OneTimeNotification;
    let who = person(
        Some("US"),
        None,
        vec![
            grant(1, otn, GrantState::Active, Some(now + 30 * DAY)),
            grant(2, otn, GrantState::Active, Some(now + 2 * DAY)),
            grant(3, otn, GrantState::Active, Some(now - DAY)),
        ],
    );
    assert_eq!(
        sent(&decide(&p, &who, false, None, now)),
        (DeliveryPath::Grant, Some(2))
    );
}

#[test]
fn a_grant_is_spent_even_inside_the_window() {
    let p = Policy::builtin();
    let now = at("2026-11-01");
    let who = person(
        None,
        Some(now - HOUR),
        vec![grant(
            7,
            GrantKind::OneTimeNotification,
            GrantState::Active,
            Some(now + DAY),
        )],
    );
    assert_eq!(
        sent(&decide(&p, &who, true, None, now)),
        (DeliveryPath::Grant, Some(7))
    );
}

#[test]
fn the_window_path_is_taken_only_when_asked_and_only_within_24_hours() {
    let p = Policy::builtin();
    let now = at("2026-11-01");
    let inside = person(None, Some(now - 23 * HOUR), vec![]);
    let outside = person(None, Some(now - 25 * HOUR), vec![]);
    assert_eq!(
        sent(&decide(&p, &inside, true, None, now)),
        (DeliveryPath::Window, None)
    );
    assert_eq!(
        excluded(&decide(&p, &inside, false, None, now)),
        ExclusionReason::NoGrant
    );
    assert_eq!(
        excluded(&decide(&p, &outside, true, None, now)),
        ExclusionReason::NoGrant
    );
}

#[test]
fn one_time_grants_are_refused_for_eea_recipients_from_2020_12_16() {
    let p = Policy::builtin();
    let otn = GrantKind::OneTimeNotification;
    let who = |now| {
        person(
            Some("FR"),
            None,
            vec![grant(1, otn, GrantState::Active, Some(now + DAY))],
        )
    };
    let before = at("2020-12-15");
    assert_eq!(
        sent(&decide(&p, &who(before), false, None, before)).0,
        DeliveryPath::Grant
    );
    let after = at("2020-12-16");
    let d = decide(&p, &who(after), false, None, after);
    assert_eq!(
        d,
        Decision::Excluded {
            reason: ExclusionReason::RegionPolicy,
            rule: Some("otn.eea-2020-12-16".into())
        }
    );
}

#[test]
fn marketing_tokens_wait_48_hours_between_sends_from_2025_09_01() {
    let p = Policy::builtin();
    let mk = GrantKind::MarketingMessages;
    let now = at("2026-03-01");
    let mut g = grant(1, mk, GrantState::Active, None);
    g.last_sent_ms = Some(now - 30 * HOUR);
    let who = person(Some("JP"), None, vec![g.clone()]);
    assert_eq!(
        excluded(&decide(&p, &who, false, None, now)),
        ExclusionReason::Cooldown
    );
    g.last_sent_ms = Some(now - 49 * HOUR);
    let who = person(Some("JP"), None, vec![g]);
    assert_eq!(
        sent(&decide(&p, &who, false, None, now)),
        (DeliveryPath::Grant, Some(1))
    );
}

#[test]
fn marketing_messages_reach_only_listed_regions_from_2026_02_10() {
    let p = Policy::builtin();
    let mk = GrantKind::MarketingMessages;
    let who = |r: &str| person(Some(r), None, vec![grant(1, mk, GrantState::Active, None)]);
    let now = at("2026-03-01");
    assert_eq!(
        excluded(&decide(&p, &who("US"), false, None, now)),
        ExclusionReason::RegionPolicy
    );
    assert_eq!(
        sent(&decide(&p, &who("KR"), false, None, now)).0,
        DeliveryPath::Grant
    );
}

#[test]
fn tags_retired_on_2026_04_27_exclude_people_outside_the_window() {
    let p = Policy::builtin();
    let nobody = person(None, None, vec![]);
    let before = at("2026-04-26");
    let d = decide(
        &p,
        &nobody,
        false,
        Some(MessageTag::PostPurchaseUpdate),
        before,
    );
    assert_eq!(sent(&d), (DeliveryPath::Tag, None));
    let after = at("2026-04-27");
    let d = decide(
        &p,
        &nobody,
        false,
        Some(MessageTag::PostPurchaseUpdate),
        after,
    );
    assert_eq!(excluded(&d), ExclusionReason::TagRetired);
}

#[test]
fn exclusion_reasons_follow_the_grant_states() {
    let p = Policy::builtin();
    let now = at("2026-11-01");
    let otn = GrantKind::OneTimeNotification;
    let with = |states: &[GrantState]| {
        person(
            None,
            None,
            states
                .iter()
                .enumerate()
                .map(|(i, s)| grant(i as i64, otn, *s, Some(now + DAY)))
                .collect(),
        )
    };
    let cases = [
        (
            vec![GrantState::Consumed, GrantState::Reserved],
            ExclusionReason::Reserved,
        ),
        (
            vec![GrantState::Consumed, GrantState::Stopped],
            ExclusionReason::Stopped,
        ),
        (
            vec![GrantState::Consumed, GrantState::Expired],
            ExclusionReason::Expired,
        ),
        (
            vec![GrantState::Consumed, GrantState::Revoked],
            ExclusionReason::Consumed,
        ),
        (
            vec![GrantState::Invalid, GrantState::Revoked],
            ExclusionReason::Invalid,
        ),
        (vec![GrantState::Revoked], ExclusionReason::Revoked),
    ];
    for (states, want) in cases {
        assert_eq!(
            excluded(&decide(&p, &with(&states), false, None, now)),
            want,
            "{states:?}"
        );
    }
}

#[test]
fn paid_subscription_grants_are_planned_out_never_sent() {
    let p = Policy::builtin();
    let now = at("2026-11-01");
    let who = person(
        Some("US"),
        None,
        vec![grant(
            1,
            GrantKind::MarketingSubscription,
            GrantState::Active,
            None,
        )],
    );
    assert_eq!(
        excluded(&decide(&p, &who, false, None, now)),
        ExclusionReason::KindNotSupported
    );
}
