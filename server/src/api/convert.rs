//! Conversions between the wire types of `otn.v1` and the domain, with request validation.

use otn::v1 as pb;
use prost_types::Timestamp;
use sha2::{Digest, Sha256};

use crate::domain::grant::{EligibleQuery, GrantKind, GrantView, RecipientView, TagFilter};
use crate::domain::types::{
    PageId, Psid, TopicKey, Violations, checked, parse_regions, parse_tags,
};
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::store::optins::OptInRow;

/// Epoch milliseconds to a protobuf timestamp.
pub fn ts(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// A protobuf timestamp to epoch milliseconds, validated.
pub fn ms_of(v: &mut Violations, field: &str, t: &Option<Timestamp>) -> Option<i64> {
    let t = t.as_ref()?;
    if !(0..1_000_000_000).contains(&t.nanos) || t.seconds < 0 || t.seconds > 253_402_300_799 {
        v.push(field, "must be a valid timestamp between 1970 and 9999");
        return None;
    }
    Some(t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
}

/// A grant kind from the wire; UNSPECIFIED means one-time notification.
pub fn kind_of(v: &mut Violations, field: &str, k: i32) -> Option<GrantKind> {
    match k {
        0 => Some(GrantKind::OneTimeNotification),
        k => GrantKind::from_i32(k).or_else(|| {
            v.push(field, format!("unknown grant kind {k}"));
            None
        }),
    }
}

/// The wire form of a recipient.
pub fn recipient(r: &RecipientView, ledger: &Ledger) -> pb::Recipient {
    pb::Recipient {
        page_id: r.page_id.clone(),
        psid: r.psid.clone(),
        tags: r.tags.clone(),
        region: r.region.clone().unwrap_or_default(),
        last_interaction_time: r.last_interaction_ms.map(ts),
        window_close_time: r
            .last_interaction_ms
            .map(|t| ts(t + ledger.policy.window_ms())),
    }
}

/// The wire form of a grant (never with its token).
pub fn grant(g: &GrantView, now_ms: i64) -> pb::Grant {
    pb::Grant {
        grant_id: g.id.to_string(),
        page_id: g.page_id.clone(),
        psid: g.psid.clone(),
        topic_key: g.topic_key.clone(),
        kind: g.kind as i32,
        payload: g.payload.clone(),
        opt_in_time: Some(ts(g.opted_in_ms)),
        expire_time: g.expires_ms.map(ts),
        state: g.effective_state(now_ms) as i32,
        state_change_time: Some(ts(g.state_changed_ms)),
    }
}

/// The wire form of an opt-in request.
pub fn opt_in(o: &OptInRow) -> pb::OptInRequest {
    pb::OptInRequest {
        opt_in_request_id: o.id.clone(),
        request_id: o.request_id.clone(),
        page_id: o.page_id.clone(),
        psid: o.psid.clone(),
        topic_key: o.topic_key.clone(),
        title: o.title.clone(),
        payload: o.payload.clone(),
        message_id: o.message_id.clone().unwrap_or_default(),
        send_time: o.sent_at.map(ts),
    }
}

/// Validates a page and person pair.
pub fn page_psid(v: &mut Violations, page_id: &str, psid: &str) -> (Option<PageId>, Option<Psid>) {
    (
        v.check(PageId::parse("page_id", page_id)),
        v.check(Psid::parse("psid", psid)),
    )
}

/// Validates a tag filter.
pub fn tag_filter(v: &mut Violations, field: &str, f: &Option<pb::TagFilter>) -> TagFilter {
    let Some(f) = f else {
        return TagFilter::default();
    };
    TagFilter {
        all_of: parse_tags(v, &format!("{field}.all_of"), &f.all_of),
        any_of: parse_tags(v, &format!("{field}.any_of"), &f.any_of),
        none_of: parse_tags(v, &format!("{field}.none_of"), &f.none_of),
    }
}

/// A validated ListEligible: the query, the cursor, the page size and whether to explain.
pub fn list_eligible(req: &pb::ListEligibleRequest) -> Result<(EligibleQuery, i64, u64, bool)> {
    let mut v = Violations::default();
    let page = v.check(PageId::parse("page_id", &req.page_id));
    let topic = v.check(TopicKey::parse("topic_key", &req.topic_key));
    let tags = tag_filter(&mut v, "tag_filter", &req.tag_filter);
    let regions = parse_regions(&mut v, "regions", &req.regions);
    let size = match req.page_size {
        0 => 100,
        n @ 1..=1000 => n as u64,
        _ => {
            v.push("page_size", "must be between 0 (default 100) and 1000");
            0
        }
    };
    v.finish()?;
    let q = EligibleQuery {
        page_id: checked(page)?,
        topic_key: checked(topic)?,
        tags,
        regions,
        now_ms: 0,
    };
    let after = decode_page_token(&req.page_token, &q)?;
    Ok((q, after, size, req.explain_exclusions))
}

fn query_hash(q: &EligibleQuery) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "{:?}|{:?}|{:?}|{:?}",
        q.page_id, q.topic_key, q.tags, q.regions
    ));
    hex::encode(&h.finalize()[..8])
}

/// The opaque token of the page after recipient row `after`, bound to the query.
pub fn encode_page_token(after: i64, q: &EligibleQuery) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{after}:{}", query_hash(q)))
}

fn decode_page_token(token: &str, q: &EligibleQuery) -> Result<i64> {
    use base64::Engine;
    if token.is_empty() {
        return Ok(0);
    }
    let bad = || {
        Error::Invalid(vec![crate::error::FieldViolation::new(
            "page_token",
            "is not a token of this query (filters must not change between pages)",
        )])
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = raw.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(after), Some(hash)) if hash == query_hash(q) => {
            after.parse().map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}
