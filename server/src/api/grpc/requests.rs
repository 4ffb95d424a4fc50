//! From the consent and listing requests of `otn.v1` to validated domain values: every bad field
//! reported at once, as INVALID_ARGUMENT, before anything is looked up or changed.

use otn::v1 as pb;

use super::convert::{self, ms_of};
use crate::domain::grant::{EligibleQuery, NewGrant, RevokeTarget};
use crate::domain::values::{
    NotificationId, PageId, Payload, Psid, Region, RequestId, Tag, Title, Token, TopicKey,
    Violations, checked, parse_regions, parse_tags,
};
use crate::domain::vocab::NotificationState;
use crate::error::{Error, Result};
use crate::messenger::wire::MarketingFields;
use crate::service::{FunnelOf, FunnelQuery, OptInInput};

/// How far ahead of the server's clock a caller's time may be (clock skew).
const FUTURE_SLACK_MS: i64 = 60_000;

fn page_psid(v: &mut Violations, page_id: &str, psid: &str) -> (Option<PageId>, Option<Psid>) {
    (
        v.check(PageId::parse("page_id", page_id)),
        v.check(Psid::parse("psid", psid)),
    )
}

/// A page.
pub(super) fn page(page_id: &str) -> Result<PageId> {
    let mut v = Violations::default();
    let page = v.check(PageId::parse("page_id", page_id));
    v.finish()?;
    checked(page)
}

/// A page and a person.
pub(super) fn person(page_id: &str, psid: &str) -> Result<(PageId, Psid)> {
    let mut v = Violations::default();
    let (page, psid) = page_psid(&mut v, page_id, psid);
    v.finish()?;
    Ok((checked(page)?, checked(psid)?))
}

fn grant_id(v: &mut Violations, field: &str, id: &str) -> Option<i64> {
    match id.parse::<i64>() {
        Ok(id) if id > 0 => Some(id),
        _ => {
            v.push(field, "is not a grant id");
            None
        }
    }
}

fn marketing(m: Option<&pb::MarketingOptIn>) -> MarketingFields {
    let Some(m) = m else {
        return MarketingFields::default();
    };
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    MarketingFields {
        image_url: nonempty(&m.image_url),
        image_aspect_ratio: match pb::ImageAspectRatio::try_from(m.image_aspect_ratio) {
            Ok(pb::ImageAspectRatio::Horizontal) => Some("HORIZONTAL"),
            Ok(pb::ImageAspectRatio::Square) => Some("SQUARE"),
            _ => None,
        },
        cta_text: match pb::CtaText::try_from(m.cta_text) {
            Ok(pb::CtaText::Allow) => Some("ALLOW"),
            Ok(pb::CtaText::Get) => Some("GET"),
            Ok(pb::CtaText::GetUpdates) => Some("GET_UPDATES"),
            Ok(pb::CtaText::OptIn) => Some("OPT_IN"),
            Ok(pb::CtaText::SignUp) => Some("SIGN_UP"),
            _ => None,
        },
        timezone: nonempty(&m.timezone),
        reoptin: m.reoptin,
    }
}

/// A RequestOptIn: the contract's rules (as the Rust SDK applies them), then domain values.
pub(super) fn opt_in_input(r: &pb::RequestOptInRequest) -> Result<OptInInput> {
    otn::rules::request_opt_in(r)?;
    let mut v = Violations::default();
    let request_id = v.check(RequestId::parse("request_id", &r.request_id));
    let (page, psid) = page_psid(&mut v, &r.page_id, &r.psid);
    let topic = v.check(TopicKey::parse_assignable("topic_key", &r.topic_key));
    let title = v.check(Title::parse("title", &r.title));
    let payload = v.check(Payload::parse("payload", &r.payload));
    v.finish()?;
    Ok(OptInInput {
        request_id: checked(request_id)?,
        page_id: checked(page)?,
        psid: checked(psid)?,
        topic_key: checked(topic)?,
        title: checked(title)?,
        payload: checked(payload)?,
        template: convert::template_of(r.template),
        marketing: marketing(r.marketing.as_ref()),
    })
}

/// A RecordOptIn at `now` (the opt-in time defaults to now and may not be in the future).
pub(super) fn new_grant(r: &pb::RecordOptInRequest, now: i64) -> Result<NewGrant> {
    let mut v = Violations::default();
    let (page, psid) = page_psid(&mut v, &r.page_id, &r.psid);
    let topic = v.check(TopicKey::parse_assignable("topic_key", &r.topic_key));
    let title = match r.topic_title.as_str() {
        "" => topic.as_ref().map(TopicKey::default_title),
        t => v.check(Title::parse("topic_title", t)),
    };
    let kind = convert::grant_kind_of(&mut v, "kind", r.kind);
    let token = v.check(Token::parse("token", &r.token));
    let payload = v.check(Payload::parse("payload", &r.payload));
    let opted_in = ms_of(&mut v, "opt_in_time", &r.opt_in_time);
    let expires = ms_of(&mut v, "expire_time", &r.expire_time);
    if expires.is_some_and(|e| e <= opted_in.unwrap_or(now)) {
        v.push("expire_time", "must be after opt_in_time");
    }
    if opted_in.is_some_and(|o| o > now + FUTURE_SLACK_MS) {
        v.push("opt_in_time", "must not be in the future");
    }
    v.finish()?;
    Ok(NewGrant {
        page_id: checked(page)?,
        psid: checked(psid)?,
        topic_key: checked(topic)?,
        topic_title: checked(title)?,
        kind: checked(kind)?,
        token: checked(token)?,
        payload: checked(payload)?.into_string(),
        opted_in_ms: opted_in.unwrap_or(now),
        expires_ms: expires,
        erasure_key: None,
    })
}

/// A ListEligible's query and page size.
pub(super) fn eligible(r: &pb::ListEligibleRequest) -> Result<(EligibleQuery, u64)> {
    otn::rules::list_eligible(r)?;
    let mut v = Violations::default();
    let page = v.check(PageId::parse("page_id", &r.page_id));
    let topic = v.check(TopicKey::parse("topic_key", &r.topic_key));
    let tags = convert::tag_filter(&mut v, "tag_filter", r.tag_filter.as_ref());
    let regions = parse_regions(&mut v, "regions", &r.regions);
    let size = v.check(otn::rules::page_size("page_size", r.page_size));
    v.finish()?;
    let q = EligibleQuery {
        page_id: checked(page)?,
        topic_key: checked(topic)?,
        tags,
        regions,
    };
    Ok((q, checked(size)?))
}

/// A RecordInteraction at `now`: the person and when (None: now).
pub(super) fn interaction(
    r: &pb::RecordInteractionRequest,
    now: i64,
) -> Result<(PageId, Psid, Option<i64>)> {
    let mut v = Violations::default();
    let (page, psid) = page_psid(&mut v, &r.page_id, &r.psid);
    convert::interaction_of(&mut v, "kind", r.kind);
    let at = ms_of(&mut v, "interaction_time", &r.interaction_time);
    if at.is_some_and(|a| a > now + FUTURE_SLACK_MS) {
        v.push("interaction_time", "must not be in the future");
    }
    v.finish()?;
    Ok((checked(page)?, checked(psid)?, at))
}

/// An UpdateRecipient.
pub(super) struct RecipientChange {
    pub(super) page: PageId,
    pub(super) psid: Psid,
    pub(super) add: Vec<Tag>,
    pub(super) remove: Vec<Tag>,
    /// `Some(None)` clears the region.
    pub(super) region: Option<Option<Region>>,
    /// `Some(None)` clears the time zone.
    pub(super) time_zone: Option<Option<String>>,
}

/// An UpdateRecipient's change.
pub(super) fn recipient_change(r: &pb::UpdateRecipientRequest) -> Result<RecipientChange> {
    let mut v = Violations::default();
    let (page, psid) = page_psid(&mut v, &r.page_id, &r.psid);
    let max = otn::limits::TAGS_PER_CALL_MAX;
    let add = parse_tags(&mut v, "add_tags", &r.add_tags, max);
    let remove = parse_tags(&mut v, "remove_tags", &r.remove_tags, max);
    let region = match r.region.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(code) => v.check(Region::parse("region", code)).map(Some),
    };
    let time_zone = match r.time_zone.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(z) if crate::domain::polite::known_zone(z) => Some(Some(z.to_string())),
        Some(_) => {
            v.push(
                "time_zone",
                "is not an IANA time zone (for example Europe/Berlin)",
            );
            None
        }
    };
    if add.len() + remove.len() > max {
        v.push(
            "add_tags",
            format!("at most {max} tags may change in one call"),
        );
    }
    v.finish()?;
    Ok(RecipientChange {
        page: checked(page)?,
        psid: checked(psid)?,
        add,
        remove,
        region,
        time_zone,
    })
}

/// A RevokeGrant's target: one grant, or a person's grants on a topic.
pub(super) fn revoke_target(r: &pb::RevokeGrantRequest) -> Result<RevokeTarget> {
    let mut v = Violations::default();
    let target = if !r.grant_id.is_empty() {
        grant_id(&mut v, "grant_id", &r.grant_id).map(RevokeTarget::Grant)
    } else {
        let (page, psid) = page_psid(&mut v, &r.page_id, &r.psid);
        let topic = v.check(TopicKey::parse("topic_key", &r.topic_key));
        match (page, psid, topic) {
            (Some(page_id), Some(psid), Some(topic_key)) => Some(RevokeTarget::Topic {
                page_id,
                psid,
                topic_key,
            }),
            _ => None,
        }
    };
    v.finish()?;
    checked(target)
}

/// An AssignGrant: the grant, its topic, and the topic's title if new.
pub(super) fn assignment(r: &pb::AssignGrantRequest) -> Result<(i64, TopicKey, Option<Title>)> {
    let mut v = Violations::default();
    let id = grant_id(&mut v, "grant_id", &r.grant_id);
    let topic = v.check(TopicKey::parse_assignable("topic_key", &r.topic_key));
    let title = match r.topic_title.as_str() {
        "" => None,
        t => v.check(Title::parse("topic_title", t)),
    };
    v.finish()?;
    Ok((checked(id)?, checked(topic)?, title))
}

/// A notification id.
pub(super) fn notification_id(id: &str) -> Result<NotificationId> {
    NotificationId::parse("notification_id", id).map_err(Error::from)
}

/// A ListNotifications: the page, the states, the page size, and where to start.
pub(super) struct NotificationListing {
    pub(super) page: PageId,
    pub(super) states: Vec<NotificationState>,
    pub(super) size: u64,
    pub(super) before: Option<NotificationId>,
}

/// A ListNotifications request.
pub(super) fn notification_listing(
    r: &pb::ListNotificationsRequest,
) -> Result<NotificationListing> {
    let mut v = Violations::default();
    let page = v.check(PageId::parse("page_id", &r.page_id));
    let mut states = Vec::new();
    if otn::rules::count(&mut v, "states", r.states.len(), 0, otn::limits::STATES_MAX) {
        for (i, s) in r.states.iter().enumerate() {
            match convert::notification_state_of(*s) {
                Some(state) => states.push(state),
                None => v.push(format!("states[{i}]"), format!("unknown state {s}")),
            }
        }
    }
    let size = v.check(otn::rules::page_size("page_size", r.page_size));
    let before = match r.page_token.as_str() {
        "" => None,
        t => v.check(NotificationId::parse("page_token", t)),
    };
    v.finish()?;
    Ok(NotificationListing {
        page: checked(page)?,
        states,
        size: checked(size)?,
        before,
    })
}

/// A `YYYY-MM-DD` date field as a UTC day; empty is `None`.
fn date(v: &mut Violations, field: &str, s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let day = crate::domain::funnel::parse_date(s);
    if day.is_none() {
        v.push(field, "must be a date, YYYY-MM-DD");
    }
    day
}

/// A GetFunnel request: page_id and topic_key, or notification_id alone, and a range of days.
pub(super) fn funnel_query(r: &pb::GetFunnelRequest) -> Result<FunnelQuery> {
    let mut v = Violations::default();
    let of = match (
        r.notification_id.is_empty(),
        r.page_id.is_empty() && r.topic_key.is_empty(),
    ) {
        (false, true) => v
            .check(NotificationId::parse("notification_id", &r.notification_id))
            .map(FunnelOf::Notification),
        (false, false) => {
            v.push(
                "notification_id",
                "give notification_id alone, or page_id and topic_key",
            );
            None
        }
        (true, _) => {
            let page = v.check(PageId::parse("page_id", &r.page_id));
            let topic = v.check(TopicKey::parse_assignable("topic_key", &r.topic_key));
            page.zip(topic)
                .map(|(page, topic)| FunnelOf::Topic { page, topic })
        }
    };
    let first_day = date(&mut v, "start_date", &r.start_date);
    let last_day = date(&mut v, "end_date", &r.end_date);
    v.finish()?;
    Ok(FunnelQuery {
        of: checked(of)?,
        first_day,
        last_day,
    })
}
