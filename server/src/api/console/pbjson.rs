//! The proto3 JSON mapping of the messages the console and `/v1/events` send, generated from
//! the contract: each message is read through its descriptor (`otn::FILE_DESCRIPTOR_SET`, built
//! from proto/ by build.rs) by prost-reflect, whose serde support writes the mapping —
//! lowerCamelCase names, enums by name (numbers when this build does not know them), int64 as
//! strings, Timestamps in RFC 3339 (UTC, 0/3/6/9 fraction digits); fields with default values
//! are included, unset messages left out. A field added to the contract reaches the console and
//! SSE without an edit here.

use std::sync::LazyLock;

use otn::v1 as pb;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use serde_json::Value;

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

/// The contract's descriptors.
static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(otn::FILE_DESCRIPTOR_SET).expect("the contract's own descriptors")
});

/// A message of the contract, by its full name.
pub(super) trait Contract: prost::Message + Sized {
    /// `otn.v1.…`.
    const NAME: &'static str;

    /// Its descriptor.
    fn descriptor() -> MessageDescriptor {
        POOL.get_message_by_name(Self::NAME)
            .unwrap_or_else(|| panic!("{} is not in the contract", Self::NAME))
    }
}

impl Contract for pb::DeliveryEvent {
    const NAME: &'static str = "otn.v1.DeliveryEvent";
}

impl Contract for pb::Notification {
    const NAME: &'static str = "otn.v1.Notification";
}

/// `m` in the proto3 JSON mapping (through its own encoding, read with its descriptor).
pub(super) fn to_json<M: Contract>(m: &M) -> Value {
    let options = SerializeOptions::new().skip_default_fields(false);
    DynamicMessage::decode(M::descriptor(), m.encode_to_vec().as_slice())
        .map_err(|e| e.to_string())
        .and_then(|d| {
            d.serialize_with_options(serde_json::value::Serializer, &options)
                .map_err(|e| e.to_string())
        })
        .unwrap_or_else(|e| {
            tracing::error!(message = M::NAME, error = %e, "proto3 JSON mapping failed");
            Value::Null
        })
}

/// `otn.v1.DeliveryEvent`.
pub(super) fn event(e: &pb::DeliveryEvent) -> Value {
    to_json(e)
}

/// `otn.v1.Notification`.
pub(super) fn notification(n: &pb::Notification) -> Value {
    to_json(n)
}

impl Contract for pb::GetFunnelResponse {
    const NAME: &'static str = "otn.v1.GetFunnelResponse";
}

/// `otn.v1.GetFunnelResponse`.
pub(super) fn funnel(f: &pb::GetFunnelResponse) -> Value {
    to_json(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_reflect::{FieldDescriptor, Kind};

    /// A value of `kind` that is not its default.
    fn not_default(kind: Kind) -> prost_reflect::Value {
        use prost_reflect::Value as V;
        match kind {
            Kind::Double => V::F64(1.5),
            Kind::Float => V::F32(1.5),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => V::I32(7),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => V::I64(7),
            Kind::Uint32 | Kind::Fixed32 => V::U32(7),
            Kind::Uint64 | Kind::Fixed64 => V::U64(7),
            Kind::Bool => V::Bool(true),
            Kind::String => V::String("x".into()),
            Kind::Bytes => V::Bytes(b"x".to_vec().into()),
            Kind::Message(m) => V::Message(DynamicMessage::new(m)),
            Kind::Enum(e) => V::EnumNumber(e.values().last().map_or(1, |v| v.number())),
        }
    }

    fn value_of(f: &FieldDescriptor, inner: prost_reflect::Value) -> prost_reflect::Value {
        if f.is_map() {
            let Kind::Message(entry) = f.kind() else {
                unreachable!("a map field's kind is its entry")
            };
            let key = not_default(entry.map_entry_key_field().kind())
                .into_map_key()
                .expect("a map key");
            prost_reflect::Value::Map([(key, inner)].into())
        } else if f.is_list() {
            prost_reflect::Value::List(vec![inner])
        } else {
            inner
        }
    }

    /// Every field path of `desc` (nested messages of the contract included, well-known types
    /// as leaves), each with a message of `desc` that has only that path set.
    fn one_field_each(
        desc: &MessageDescriptor,
        depth: usize,
    ) -> Vec<(Vec<String>, DynamicMessage)> {
        let mut out = Vec::new();
        for f in desc.fields() {
            let leaf = not_default(f.kind());
            let mut m = DynamicMessage::new(desc.clone());
            m.set_field(&f, value_of(&f, leaf));
            out.push((vec![f.json_name().to_string()], m));
            if let Kind::Message(inner) = f.kind()
                && depth > 0
                && !f.is_map()
                && inner.package_name() == "otn.v1"
            {
                for (mut path, nested) in one_field_each(&inner, depth - 1) {
                    let mut m = DynamicMessage::new(desc.clone());
                    m.set_field(&f, value_of(&f, prost_reflect::Value::Message(nested)));
                    path.insert(0, f.json_name().to_string());
                    out.push((path, m));
                }
            }
        }
        out
    }

    /// Sets every field of `M` in turn (through its descriptor, not its Rust type), and finds
    /// it in the JSON: a field added to the contract needs no edit to reach the console.
    fn every_field_reaches_the_json<M: Contract + Default>() {
        let paths = one_field_each(&M::descriptor(), 2);
        assert!(paths.len() > 5, "{}: {paths:?}", M::NAME);
        for (path, dynamic) in paths {
            let bytes = prost::Message::encode_to_vec(&dynamic);
            let m = M::decode(bytes.as_slice()).expect("the contract's message");
            let json = to_json(&m);
            let mut at = &json;
            for (i, key) in path.iter().enumerate() {
                at = match at {
                    Value::Array(items) => &items[0][key.as_str()],
                    v => &v[key.as_str()],
                };
                assert!(
                    !at.is_null(),
                    "{}: {} is not in {json}",
                    M::NAME,
                    path[..=i].join(".")
                );
            }
        }
    }

    #[test]
    fn every_field_of_the_contract_appears_in_the_json() {
        every_field_reaches_the_json::<pb::DeliveryEvent>();
        every_field_reaches_the_json::<pb::Notification>();
    }

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
