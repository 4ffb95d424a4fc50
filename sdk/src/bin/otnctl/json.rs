//! The JSON form of the service's messages as otnctl prints them (enum names without prefix, RFC 3339 times).

use otn_sdk::prost_types::Timestamp;
use otn_sdk::{Error, Progress, code_name, proto as pb};
use serde_json::{Map, Value, json};

/// An enum value's name without its prefix, for example `ACTIVE`.
pub(crate) fn name(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix).unwrap_or(full).to_string()
}

pub(crate) fn time(t: &Option<Timestamp>) -> Value {
    match t {
        Some(t) => json!(t.to_string()),
        None => Value::Null,
    }
}

pub(crate) fn grant_state(v: i32) -> String {
    let s = pb::GrantState::try_from(v).unwrap_or_default();
    name(s.as_str_name(), "GRANT_STATE_")
}

pub(crate) fn grant_kind(v: i32) -> String {
    let s = pb::GrantKind::try_from(v).unwrap_or_default();
    name(s.as_str_name(), "GRANT_KIND_")
}

pub(crate) fn notification_state(v: i32) -> String {
    let s = pb::NotificationState::try_from(v).unwrap_or_default();
    name(s.as_str_name(), "NOTIFICATION_STATE_")
}

pub(crate) fn exclusion(v: i32) -> String {
    let s = pb::ExclusionReason::try_from(v).unwrap_or_default();
    name(s.as_str_name(), "EXCLUSION_REASON_")
}

pub(crate) fn event_type(v: i32) -> String {
    let s = pb::DeliveryEventType::try_from(v).unwrap_or_default();
    name(s.as_str_name(), "DELIVERY_EVENT_TYPE_")
}

pub(crate) fn path(v: i32) -> String {
    let s = pb::DeliveryPath::try_from(v).unwrap_or_default();
    name(s.as_str_name(), "DELIVERY_PATH_")
}

pub(crate) fn grant(g: &pb::Grant) -> Value {
    json!({
        "grant_id": g.grant_id,
        "page_id": g.page_id,
        "psid": g.psid,
        "topic_key": g.topic_key,
        "kind": grant_kind(g.kind),
        "state": grant_state(g.state),
        "payload": g.payload,
        "opt_in_time": time(&g.opt_in_time),
        "expire_time": time(&g.expire_time),
        "state_change_time": time(&g.state_change_time),
    })
}

pub(crate) fn recipient(r: &pb::Recipient) -> Value {
    json!({
        "page_id": r.page_id,
        "psid": r.psid,
        "tags": r.tags,
        "region": r.region,
        "time_zone": r.time_zone,
        "last_interaction_time": time(&r.last_interaction_time),
        "window_close_time": time(&r.window_close_time),
    })
}

pub(crate) fn exclusions(list: &[pb::ExclusionCount]) -> Value {
    let mut m = Map::new();
    for e in list {
        m.insert(exclusion(e.reason), json!(e.count));
    }
    Value::Object(m)
}

pub(crate) fn eligible(l: &pb::ListEligibleResponse) -> Value {
    let recipients: Vec<Value> = l
        .recipients
        .iter()
        .map(|r| {
            json!({
                "recipient": r.recipient.as_ref().map(recipient),
                "grants": r.grants.iter().map(grant).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "recipients": recipients,
        "total_size": l.total_size,
        "next_page_token": l.next_page_token,
        "exclusions": exclusions(&l.exclusions),
    })
}

pub(crate) fn plan(p: &Option<pb::SendPlan>) -> Value {
    let p = p.clone().unwrap_or_default();
    json!({
        "grant_sends": p.grant_sends,
        "window_sends": p.window_sends,
        "tag_sends": p.tag_sends,
        "exclusions": exclusions(&p.exclusions),
        "deferred_by_frequency_cap": p.deferred_by_frequency_cap,
        "deferred_by_quiet_hours": p.deferred_by_quiet_hours,
        "frequency_cap": p.frequency_cap.map(|c| json!({
            "max_notifications": c.max_notifications, "window_seconds": c.window_seconds,
        })),
        "quiet_hours": p.quiet_hours.map(|q| json!({ "start": q.start, "end": q.end })),
        "quiet_hours_ignored": p.quiet_hours_ignored,
    })
}

pub(crate) fn notification(n: &pb::Notification) -> Value {
    let c = n.counts.unwrap_or_default();
    let p = Progress::of(n);
    json!({
        "notification_id": n.notification_id,
        "request_id": n.request_id,
        "page_id": n.page_id,
        "topic_key": n.topic_key,
        "state": notification_state(n.state),
        "plan": plan(&n.plan),
        "counts": {
            "queued": c.queued, "sending": c.sending, "sent": c.sent, "delivered": c.delivered,
            "read": c.read, "failed": c.failed, "cancelled": c.cancelled,
            "unconfirmed": c.unconfirmed,
        },
        "progress": {
            "total": p.total, "sent": p.sent, "delivered": p.delivered, "failed": p.failed,
            "cancelled": p.cancelled, "unconfirmed": p.unconfirmed, "pending": p.pending,
        },
        "final": otn_sdk::is_final(n),
        "create_time": time(&n.create_time),
        "scheduled_time": time(&n.scheduled_time),
        "complete_time": time(&n.complete_time),
        "paused_reason": n.paused_reason,
    })
}

pub(crate) fn event(e: &pb::DeliveryEvent) -> Value {
    json!({
        "sequence": e.sequence,
        "event_time": time(&e.event_time),
        "type": event_type(e.r#type),
        "page_id": e.page_id,
        "topic_key": e.topic_key,
        "notification_id": e.notification_id,
        "delivery_id": e.delivery_id,
        "psid": e.psid,
        "grant_id": e.grant_id,
        "message_id": e.message_id,
        "path": path(e.path),
        "rule": e.rule,
        "not_before_time": time(&e.not_before_time),
        "failure": e.failure.as_ref().map(|f| json!({
            "reason": f.reason, "code": f.code, "subcode": f.subcode, "message": f.message,
        })),
    })
}

pub(crate) fn error(e: &Error) -> Value {
    let violations: Vec<Value> = e
        .field_violations()
        .iter()
        .map(|v| json!({ "field": v.field, "description": v.description }))
        .collect();
    json!({ "error": {
        "code": code_name(e.code()),
        "reason": e.reason_str(),
        "message": e.message(),
        "field_violations": violations,
        "metadata": e.metadata(),
        "retry_delay_ms": e.retry_delay().map(|d| d.as_millis() as u64),
    }})
}
