//! The proto3 JSON mapping of the messages the console and `/v1/events` send: lowerCamelCase
//! names, enums by name, int64 as strings, Timestamps in RFC 3339 (UTC, 0/3/6/9 fraction
//! digits); fields with default values are included, unset messages left out.

use otn::v1 as pb;
use serde_json::{Map, Value, json};

/// A Timestamp in RFC 3339, as the mapping writes it.
pub(super) fn timestamp(t: &prost_types::Timestamp) -> Value {
    match chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32) {
        Some(d) => d
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            .into(),
        None => Value::Null,
    }
}

/// Epoch milliseconds as a Timestamp in RFC 3339.
pub(super) fn time_ms(ms: i64) -> Value {
    timestamp(&prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    })
}

/// An int64, as a JSON string.
pub(super) fn int64(n: i64) -> Value {
    Value::String(n.to_string())
}

/// An enum value by its name (its number when this build does not know it).
fn name<E: TryFrom<i32>>(v: i32, as_str: impl Fn(&E) -> &'static str) -> Value {
    E::try_from(v).map_or_else(|_| v.into(), |e| as_str(&e).into())
}

fn put_time(m: &mut Map<String, Value>, key: &str, t: &Option<prost_types::Timestamp>) {
    if let Some(t) = t {
        m.insert(key.into(), timestamp(t));
    }
}

/// `otn.v1.DeliveryEvent`.
pub(super) fn event(e: &pb::DeliveryEvent) -> Value {
    let mut m = Map::new();
    m.insert("sequence".into(), int64(e.sequence));
    put_time(&mut m, "eventTime", &e.event_time);
    let kind = name::<pb::DeliveryEventType>(e.r#type, |t| t.as_str_name());
    m.insert("type".into(), kind);
    for (k, v) in [
        ("pageId", &e.page_id),
        ("topicKey", &e.topic_key),
        ("notificationId", &e.notification_id),
        ("deliveryId", &e.delivery_id),
        ("psid", &e.psid),
        ("grantId", &e.grant_id),
        ("messageId", &e.message_id),
    ] {
        m.insert(k.into(), v.clone().into());
    }
    let path = name::<pb::DeliveryPath>(e.path, |p| p.as_str_name());
    m.insert("path".into(), path);
    m.insert("rule".into(), e.rule.clone().into());
    if let Some(f) = &e.failure {
        let failure = json!({
            "reason": f.reason,
            "code": f.code,
            "subcode": f.subcode,
            "message": f.message,
        });
        m.insert("failure".into(), failure);
    }
    m.insert("actor".into(), e.actor.clone().into());
    put_time(&mut m, "notBeforeTime", &e.not_before_time);
    Value::Object(m)
}

/// `otn.v1.Notification`.
pub(super) fn notification(n: &pb::Notification) -> Value {
    let mut m = Map::new();
    for (k, v) in [
        ("notificationId", &n.notification_id),
        ("requestId", &n.request_id),
        ("pageId", &n.page_id),
        ("topicKey", &n.topic_key),
    ] {
        m.insert(k.into(), v.clone().into());
    }
    let state = name::<pb::NotificationState>(n.state, |s| s.as_str_name());
    m.insert("state".into(), state);
    if let Some(p) = &n.plan {
        let exclusions: Vec<Value> = p
            .exclusions
            .iter()
            .map(|x| {
                json!({
                    "reason": name::<pb::ExclusionReason>(x.reason, |r| r.as_str_name()),
                    "count": int64(x.count),
                })
            })
            .collect();
        let plan = json!({
            "grantSends": int64(p.grant_sends),
            "windowSends": int64(p.window_sends),
            "exclusions": exclusions,
            "tagSends": int64(p.tag_sends),
        });
        m.insert("plan".into(), plan);
    }
    if let Some(c) = &n.counts {
        let counts = json!({
            "queued": int64(c.queued),
            "sending": int64(c.sending),
            "sent": int64(c.sent),
            "delivered": int64(c.delivered),
            "read": int64(c.read),
            "failed": int64(c.failed),
            "cancelled": int64(c.cancelled),
            "unconfirmed": int64(c.unconfirmed),
        });
        m.insert("counts".into(), counts);
    }
    put_time(&mut m, "createTime", &n.create_time);
    put_time(&mut m, "scheduledTime", &n.scheduled_time);
    put_time(&mut m, "completeTime", &n.complete_time);
    m.insert("createdBy".into(), n.created_by.clone().into());
    m.insert("messageTag".into(), n.message_tag.clone().into());
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc_3339_in_utc_with_the_mappings_fraction_digits() {
        assert_eq!(time_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(time_ms(1_500), "1970-01-01T00:00:01.500Z");
        assert_eq!(time_ms(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn an_event_maps_to_camel_case_names_enum_names_and_int64_strings() {
        let e = pb::DeliveryEvent {
            sequence: 42,
            event_time: Some(prost_types::Timestamp {
                seconds: 1,
                nanos: 0,
            }),
            r#type: pb::DeliveryEventType::RetryScheduled as i32,
            page_id: "p".into(),
            path: pb::DeliveryPath::Grant as i32,
            failure: Some(pb::DeliveryFailure {
                reason: "RATE_LIMITED".into(),
                code: 613,
                subcode: 0,
                message: "slow down".into(),
            }),
            ..Default::default()
        };
        let v = event(&e);
        assert_eq!(v["sequence"], "42");
        assert_eq!(v["eventTime"], "1970-01-01T00:00:01Z");
        assert_eq!(v["type"], "DELIVERY_EVENT_TYPE_RETRY_SCHEDULED");
        assert_eq!(v["path"], "DELIVERY_PATH_GRANT");
        assert_eq!(v["pageId"], "p");
        assert_eq!(v["notificationId"], "");
        assert_eq!(v["failure"]["code"], 613);
        let unknown = pb::DeliveryEvent {
            r#type: 999,
            ..Default::default()
        };
        assert_eq!(event(&unknown)["type"], 999);
        assert!(event(&unknown).get("failure").is_none());
    }

    #[test]
    fn a_notification_maps_its_plan_and_counts() {
        let n = pb::Notification {
            state: pb::NotificationState::Completed as i32,
            plan: Some(pb::SendPlan {
                grant_sends: 3,
                exclusions: vec![pb::ExclusionCount {
                    reason: pb::ExclusionReason::Expired as i32,
                    count: 2,
                }],
                ..Default::default()
            }),
            counts: Some(pb::DeliveryCounts {
                sent: 3,
                unconfirmed: 1,
                ..Default::default()
            }),
            ..Default::default()
        };
        let v = notification(&n);
        assert_eq!(v["state"], "NOTIFICATION_STATE_COMPLETED");
        assert_eq!(v["plan"]["grantSends"], "3");
        assert_eq!(
            v["plan"]["exclusions"][0]["reason"],
            "EXCLUSION_REASON_EXPIRED"
        );
        assert_eq!(v["counts"]["sent"], "3");
        assert_eq!(v["counts"]["unconfirmed"], "1");
        assert!(v.get("completeTime").is_none());
    }
}
