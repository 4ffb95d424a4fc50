//! The one translation between the domain's words and `otn.v1`'s enums, and the wire forms of
//! grants, recipients, opt-in requests and page tokens.

use otn::v1 as pb;
use prost_types::Timestamp;
use sha2::{Digest, Sha256};

use crate::domain::grant::{EligibleQuery, GrantView, RecipientView, TagFilter};
use crate::domain::values::{Violations, parse_tags};
use crate::domain::vocab::{
    DeliveryPath, EventKind, ExclusionReason, GrantKind, GrantState, InteractionKind,
    NotificationState, OptInTemplate,
};
use crate::error::{Error, FieldViolation, Reason, Result};
use crate::store::OptInRow;

/// Epoch milliseconds to a protobuf timestamp.
pub(super) fn ts(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// A protobuf timestamp to epoch milliseconds, validated.
pub(super) fn ms_of(v: &mut Violations, field: &str, t: &Option<Timestamp>) -> Option<i64> {
    v.check(otn::rules::timestamp(field, t.as_ref()?))
}

pub(super) fn grant_kind(k: GrantKind) -> pb::GrantKind {
    match k {
        GrantKind::OneTimeNotification => pb::GrantKind::OneTimeNotification,
        GrantKind::MarketingMessages => pb::GrantKind::MarketingMessages,
        GrantKind::MarketingSubscription => pb::GrantKind::MarketingSubscription,
    }
}

/// A grant kind from the wire; UNSPECIFIED means one-time notification.
pub(super) fn grant_kind_of(v: &mut Violations, field: &str, k: i32) -> Option<GrantKind> {
    match pb::GrantKind::try_from(k) {
        Ok(pb::GrantKind::Unspecified | pb::GrantKind::OneTimeNotification) => {
            Some(GrantKind::OneTimeNotification)
        }
        Ok(pb::GrantKind::MarketingMessages) => Some(GrantKind::MarketingMessages),
        Ok(pb::GrantKind::MarketingSubscription) => Some(GrantKind::MarketingSubscription),
        Err(_) => {
            v.push(field, format!("unknown grant kind {k}"));
            None
        }
    }
}

pub(super) fn grant_state(s: GrantState) -> pb::GrantState {
    match s {
        GrantState::Active => pb::GrantState::Active,
        GrantState::Reserved => pb::GrantState::Reserved,
        GrantState::Consumed => pb::GrantState::Consumed,
        GrantState::Expired => pb::GrantState::Expired,
        GrantState::Stopped => pb::GrantState::Stopped,
        GrantState::Revoked => pb::GrantState::Revoked,
        GrantState::Invalid => pb::GrantState::Invalid,
    }
}

pub(super) fn exclusion(r: ExclusionReason) -> pb::ExclusionReason {
    use pb::ExclusionReason as P;
    match r {
        ExclusionReason::NoGrant => P::NoGrant,
        ExclusionReason::Expired => P::Expired,
        ExclusionReason::Stopped => P::Stopped,
        ExclusionReason::Consumed => P::Consumed,
        ExclusionReason::Reserved => P::Reserved,
        ExclusionReason::Revoked => P::Revoked,
        ExclusionReason::Invalid => P::Invalid,
        ExclusionReason::TagFilter => P::TagFilter,
        ExclusionReason::RegionFilter => P::RegionFilter,
        ExclusionReason::RegionPolicy => P::RegionPolicy,
        ExclusionReason::Cooldown => P::Cooldown,
        ExclusionReason::MaxRecipients => P::MaxRecipients,
        ExclusionReason::TagRetired => P::TagRetired,
        ExclusionReason::KindNotSupported => P::KindNotSupported,
        ExclusionReason::FrequencyCap => P::FrequencyCap,
        ExclusionReason::QuietHours => P::QuietHours,
    }
}

pub(super) fn notification_state(s: NotificationState) -> pb::NotificationState {
    match s {
        NotificationState::Scheduled => pb::NotificationState::Scheduled,
        NotificationState::Dispatching => pb::NotificationState::Dispatching,
        NotificationState::Completed => pb::NotificationState::Completed,
        NotificationState::Cancelled => pb::NotificationState::Cancelled,
        NotificationState::Planned => pb::NotificationState::Planned,
    }
}

/// A notification state from the wire (UNSPECIFIED is not a state).
pub(super) fn notification_state_of(v: i32) -> Option<NotificationState> {
    NotificationState::ALL
        .iter()
        .copied()
        .find(|s| notification_state(*s) as i32 == v)
}

pub(super) fn delivery_path(p: Option<DeliveryPath>) -> pb::DeliveryPath {
    match p {
        None => pb::DeliveryPath::Unspecified,
        Some(DeliveryPath::Grant) => pb::DeliveryPath::Grant,
        Some(DeliveryPath::Window) => pb::DeliveryPath::Window,
        Some(DeliveryPath::Tag) => pb::DeliveryPath::Tag,
    }
}

pub(super) fn event_kind(k: EventKind) -> pb::DeliveryEventType {
    use pb::DeliveryEventType as P;
    match k {
        EventKind::Queued => P::Queued,
        EventKind::Sent => P::Sent,
        EventKind::Delivered => P::Delivered,
        EventKind::Read => P::Read,
        EventKind::Failed => P::Failed,
        EventKind::GrantConsumed => P::GrantConsumed,
        EventKind::OptInRecorded => P::OptInRecorded,
        EventKind::Engaged => P::Engaged,
        EventKind::Cancelled => P::Cancelled,
        EventKind::RetryScheduled => P::RetryScheduled,
        EventKind::GrantRevoked => P::GrantRevoked,
        EventKind::RecipientForgotten => P::RecipientForgotten,
        EventKind::GrantStopped => P::GrantStopped,
        EventKind::GrantResumed => P::GrantResumed,
        EventKind::GrantAssigned => P::GrantAssigned,
        EventKind::Unconfirmed => P::Unconfirmed,
        EventKind::OptInRequested => P::OptInRequested,
        EventKind::Clicked => P::Clicked,
        EventKind::GrantExpired => P::GrantExpired,
        EventKind::Deferred => P::Deferred,
    }
}

/// An interaction kind toward the wire.
pub(crate) fn interaction(k: InteractionKind) -> pb::InteractionKind {
    match k {
        InteractionKind::Message => pb::InteractionKind::Message,
        InteractionKind::Postback => pb::InteractionKind::Postback,
        InteractionKind::Reaction => pb::InteractionKind::Reaction,
        InteractionKind::Referral => pb::InteractionKind::Referral,
    }
}

/// An interaction kind from the wire; UNSPECIFIED counts as a message.
pub(super) fn interaction_of(v: &mut Violations, field: &str, k: i32) -> Option<InteractionKind> {
    match pb::InteractionKind::try_from(k) {
        Ok(pb::InteractionKind::Unspecified | pb::InteractionKind::Message) => {
            Some(InteractionKind::Message)
        }
        Ok(pb::InteractionKind::Postback) => Some(InteractionKind::Postback),
        Ok(pb::InteractionKind::Reaction) => Some(InteractionKind::Reaction),
        Ok(pb::InteractionKind::Referral) => Some(InteractionKind::Referral),
        Err(_) => {
            v.push(field, format!("unknown interaction kind {k}"));
            None
        }
    }
}

pub(super) fn template(t: OptInTemplate) -> pb::OptInTemplate {
    match t {
        OptInTemplate::OneTimeNotification => pb::OptInTemplate::OneTimeNotification,
        OptInTemplate::NotificationMessages => pb::OptInTemplate::NotificationMessages,
    }
}

/// The template asked for (`None`: the policy chooses); the rules already refused unknown ones.
pub(super) fn template_of(t: i32) -> Option<OptInTemplate> {
    OptInTemplate::ALL
        .iter()
        .copied()
        .find(|x| template(*x) as i32 == t)
}

/// The wire form of a recipient; their window closes `window_ms` after their last interaction.
pub(super) fn recipient(r: &RecipientView, window_ms: i64) -> pb::Recipient {
    pb::Recipient {
        page_id: r.page_id.clone(),
        psid: r.psid.clone(),
        tags: r.tags.clone(),
        region: r.region.clone().unwrap_or_default(),
        last_interaction_time: r.last_interaction_ms.map(ts),
        window_close_time: r.last_interaction_ms.map(|t| ts(t + window_ms)),
        time_zone: r.time_zone.clone().unwrap_or_default(),
    }
}

/// The wire form of a grant (never with its token).
pub(super) fn grant(g: &GrantView, now_ms: i64) -> pb::Grant {
    pb::Grant {
        grant_id: g.id.to_string(),
        page_id: g.page_id.clone(),
        psid: g.psid.clone(),
        topic_key: g.topic_key.clone(),
        kind: grant_kind(g.kind) as i32,
        payload: g.payload.clone(),
        opt_in_time: Some(ts(g.opted_in_ms)),
        expire_time: g.expires_ms.map(ts),
        state: grant_state(g.effective_state(now_ms)) as i32,
        state_change_time: Some(ts(g.state_changed_ms)),
        revoked_by: g.revoked_by.clone().unwrap_or_default(),
    }
}

/// The wire form of an opt-in request.
pub(super) fn opt_in(o: &OptInRow) -> pb::OptInRequest {
    pb::OptInRequest {
        opt_in_request_id: o.id.clone(),
        request_id: o.request_id.clone(),
        page_id: o.page_id.clone(),
        psid: o.psid.clone(),
        topic_key: o.topic_key.clone(),
        title: o.title.clone(),
        payload: o.payload.clone(),
        message_id: o.message_id.clone().unwrap_or_default(),
        send_time: o.sent_ms.map(ts),
        template: template(o.template) as i32,
        requested_by: o.requested_by.clone(),
    }
}

/// Validates a tag filter.
pub(super) fn tag_filter(v: &mut Violations, field: &str, f: Option<&pb::TagFilter>) -> TagFilter {
    let Some(f) = f else {
        return TagFilter::default();
    };
    let max = otn::limits::TAG_FILTER_TAGS_MAX;
    TagFilter {
        all_of: parse_tags(v, &format!("{field}.all_of"), &f.all_of, max),
        any_of: parse_tags(v, &format!("{field}.any_of"), &f.any_of, max),
        none_of: parse_tags(v, &format!("{field}.none_of"), &f.none_of, max),
    }
}

fn query_hash(q: &EligibleQuery) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "{:?}|{:?}|{:?}|{:?}",
        q.page_id, q.topic_key, q.tags, q.regions
    ));
    hex::encode(&h.finalize()[..8])
}

/// Where a page of a listing starts, decoded from its page token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Cursor {
    /// The recipient row id the page starts after.
    pub(super) after: i64,
    /// The total counted on the first page, carried along.
    pub(super) total: Option<i64>,
}

/// The opaque token of the page after recipient row `after`, bound to the query.
pub(super) fn encode_page_token(after: i64, total: Option<i64>, q: &EligibleQuery) -> String {
    use base64::Engine;
    let total = total.map_or("-".to_string(), |t| t.to_string());
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("v2:{after}:{total}:{}", query_hash(q)))
}

/// Decodes a page token of this query; a token of another query is INVALID_PAGE_TOKEN.
pub(super) fn decode_page_token(token: &str, q: &EligibleQuery) -> Result<Cursor> {
    use base64::Engine;
    if token.is_empty() {
        return Ok(Cursor::default());
    }
    let bad = || Error::Invalid {
        reason: Reason::InvalidPageToken,
        violations: vec![FieldViolation::new(
            "page_token",
            "is not a token of this query (filters must not change between pages)",
        )],
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let parts: Vec<&str> = raw.split(':').collect();
    match parts.as_slice() {
        ["v2", after, total, hash] if *hash == query_hash(q) => Ok(Cursor {
            after: after.parse().map_err(|_| bad())?,
            total: match *total {
                "-" => None,
                t => Some(t.parse().map_err(|_| bad())?),
            },
        }),
        ["v1", after, hash] if *hash == query_hash(q) => Ok(Cursor {
            after: after.parse().map_err(|_| bad())?,
            total: None,
        }),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_word_has_its_own_proto_value() {
        fn distinct<T: Copy>(all: &[T], f: impl Fn(T) -> i32) {
            let mut v: Vec<i32> = all.iter().map(|x| f(*x)).collect();
            assert!(v.iter().all(|x| *x != 0), "no word maps to UNSPECIFIED");
            v.sort();
            v.dedup();
            assert_eq!(v.len(), all.len());
        }
        distinct(GrantKind::ALL, |x| grant_kind(x) as i32);
        distinct(GrantState::ALL, |x| grant_state(x) as i32);
        distinct(ExclusionReason::ALL, |x| exclusion(x) as i32);
        distinct(NotificationState::ALL, |x| notification_state(x) as i32);
        distinct(DeliveryPath::ALL, |x| delivery_path(Some(x)) as i32);
        distinct(EventKind::ALL, |x| event_kind(x) as i32);
        distinct(OptInTemplate::ALL, |x| template(x) as i32);
        for s in NotificationState::ALL {
            assert_eq!(
                notification_state_of(notification_state(*s) as i32),
                Some(*s)
            );
        }
        for t in OptInTemplate::ALL {
            assert_eq!(template_of(template(*t) as i32), Some(*t));
        }
    }

    #[test]
    fn every_proto_value_has_a_domain_word() {
        let count = |max: i32, ok: &dyn Fn(i32) -> bool| (1..=max).filter(|v| ok(*v)).count();
        assert_eq!(
            count(64, &|v| pb::ExclusionReason::try_from(v).is_ok()),
            ExclusionReason::ALL.len()
        );
        assert_eq!(
            count(64, &|v| pb::DeliveryEventType::try_from(v).is_ok()),
            EventKind::ALL.len()
        );
        assert_eq!(
            count(64, &|v| pb::GrantState::try_from(v).is_ok()),
            GrantState::ALL.len()
        );
        assert_eq!(
            count(64, &|v| pb::NotificationState::try_from(v).is_ok()),
            NotificationState::ALL.len()
        );
    }
}
