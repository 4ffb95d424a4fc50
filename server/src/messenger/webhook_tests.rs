//! Bodies shaped as Meta documents them, including the ones that break naive parsers.

use serde_json::json;

use super::*;

fn one(event: Value) -> Parsed {
    parse(&json!({ "object": "page", "entry": [{ "id": "P1", "time": 5, "messaging": [event] }] }))
}

#[test]
fn a_batch_of_mixed_events_is_parsed_in_order() {
    let body = json!({"object":"page","entry":[
      {"id":"P1","time":1,"messaging":[
        {"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":10,
         "optin":{"type":"one_time_notif_req","payload":"otn1:abc","one_time_notif_token":"T1"}},
        {"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":11,"message":{"mid":"m1","text":"hi"}},
        {"sender":{"id":"P1"},"recipient":{"id":"U1"},"timestamp":12,
         "message":{"mid":"m2","is_echo":true,"metadata":"otn:7"}}]},
      {"id":"P2","time":2,"messaging":[
        {"sender":{"id":"U2"},"recipient":{"id":"P2"},"delivery":{"mids":["m9"],"watermark":20}},
        {"sender":{"id":"U2"},"recipient":{"id":"P2"},"timestamp":21,"read":{"watermark":20,"seq":0}},
        {"sender":{"id":"U2"},"recipient":{"id":"P2"},"timestamp":22,
         "optin":{"type":"notification_messages","notification_messages_token":"M1",
                  "notification_messages_status":"STOP NOTIFICATIONS"}}]}]});
    let p = parse(&body);
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    assert_eq!(p.events.len(), 6);
    assert!(
        matches!(&p.events[0], Inbound::OptIn { token, kind: GrantKind::OneTimeNotification, .. } if token == "T1")
    );
    assert!(matches!(
        &p.events[1],
        Inbound::Interaction {
            at_ms: 11,
            kind: InteractionKind::Message,
            ..
        }
    ));
    assert!(
        matches!(&p.events[2], Inbound::Echo { psid, metadata: Some(m), at_ms: 12, .. } if psid == "U1" && m == "otn:7")
    );
    assert!(
        matches!(&p.events[3], Inbound::Delivery { mids, watermark: 20, .. } if mids == &["m9"])
    );
    assert!(matches!(&p.events[4], Inbound::Read { watermark: 20, .. }));
    assert!(matches!(
        &p.events[5],
        Inbound::NotificationStatus { stop: true, .. }
    ));
}

#[test]
fn a_checkbox_opt_in_without_a_sender_is_skipped_alone() {
    let body = json!({"object":"page","entry":[{"id":"P1","time":1,"messaging":[
        {"recipient":{"id":"P1"},"timestamp":10,"optin":{"ref":"cart-1","user_ref":"UREF-9"}},
        {"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":11,"message":{"mid":"m1","text":"hi"}}]}]});
    let p = parse(&body);
    assert_eq!(p.events.len(), 1);
    assert_eq!(p.skipped[0].reason, "optin_with_user_ref_and_no_sender");
}

#[test]
fn a_policy_enforcement_notice_has_no_sender_and_is_an_event() {
    let p = one(json!({"recipient":{"id":"P1"},"timestamp":12,
        "policy_enforcement":{"action":"block","reason":"The page was flagged for spam."}}));
    assert!(matches!(
        &p.events[0],
        Inbound::PolicyEnforcement {
            block: true,
            at_ms: 12,
            ..
        }
    ));
}

#[test]
fn drifting_types_in_unused_or_lenient_fields_do_not_break_the_event() {
    let p = one(
        json!({"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":"13",
        "optin":{"type":"notification_messages","notification_messages_token":"M1","payload":"deals",
                 "token_expiry_timestamp":"1790000000000","user_token_status":"REFRESHED",
                 "notification_messages_timezone":"Europe/Berlin"}}),
    );
    assert!(matches!(
        &p.events[0],
        Inbound::OptIn {
            at_ms: 13,
            kind: GrantKind::MarketingMessages,
            time_zone: Some(z),
            ..
        } if z == "Europe/Berlin"
    ));
    let p = one(
        json!({"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":14,
        "message":{"mid":"m1","attachments":[{"type":"sticker","payload":{"sticker_id":369239263222822_i64}}]}}),
    );
    assert!(matches!(
        &p.events[0],
        Inbound::Interaction {
            kind: InteractionKind::Message,
            ..
        }
    ));
}

#[test]
fn a_delivery_without_mids_is_a_watermark_receipt() {
    let p = one(
        json!({"sender":{"id":"U1"},"recipient":{"id":"P1"},"delivery":{"watermark":1458668856253_i64}}),
    );
    assert!(
        matches!(&p.events[0], Inbound::Delivery { mids, watermark: 1458668856253, .. } if mids.is_empty())
    );
}

#[test]
fn unreadable_events_are_skipped_with_a_reason() {
    let p = one(json!({"sender":{"id":"U1"},"recipient":{"id":"P1"},"delivery":{"mids":"m1"}}));
    assert_eq!(p.skipped[0].reason, "delivery_mids_not_a_list");
    let p = one(
        json!({"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":1,"account_linking":{}}),
    );
    assert_eq!(p.skipped[0].reason, "unsupported_event");
    let p = parse(&json!({"object":"instagram","entry":[]}));
    assert!(p.events.is_empty());
}

#[test]
fn an_echo_as_meta_documents_it_carries_the_mid_metadata_and_metas_time() {
    let p = parse(
        &json!({"object":"page","entry":[{"id":"P1","time":9,"messaging":[
        {"sender":{"id":"P1"},"recipient":{"id":"U1"},"timestamp":1458692752478_i64,
         "message":{"is_echo":true,"app_id":1517776481860111_i64,"metadata":"otn:42",
                    "mid":"m_AG5Hz2U","text":"Back in stock"}}]}]}),
    );
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    assert_eq!(
        p.events,
        [Inbound::Echo {
            page_id: "P1".into(),
            psid: "U1".into(),
            mid: "m_AG5Hz2U".into(),
            metadata: Some("otn:42".into()),
            at_ms: 1458692752478,
        }]
    );
}

#[test]
fn an_echo_without_a_mid_or_recipient_is_skipped_and_one_without_metadata_is_read() {
    let p = one(
        json!({"sender":{"id":"P1"},"recipient":{"id":"U1"},"timestamp":1,
        "message":{"is_echo":true,"metadata":"otn:42","mid":""}}),
    );
    assert_eq!(p.skipped[0].reason, "echo_without_recipient_or_mid");
    let p = one(json!({"sender":{"id":"P1"},"timestamp":1,
        "message":{"is_echo":true,"mid":"m1"}}));
    assert_eq!(p.skipped[0].reason, "echo_without_recipient_or_mid");
    let p = one(
        json!({"sender":{"id":"P1"},"recipient":{"id":"U1"},"timestamp":1,
        "message":{"is_echo":true,"mid":"m1","metadata":7}}),
    );
    assert!(matches!(&p.events[0], Inbound::Echo { metadata: None, .. }));
}

mod properties {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::super::parse;

    /// Any JSON value, a few levels deep.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("sender".to_string()),
                        Just("recipient".to_string()),
                        Just("id".to_string()),
                        Just("optin".to_string()),
                        Just("message".to_string()),
                        Just("delivery".to_string()),
                        Just("read".to_string()),
                        Just("timestamp".to_string()),
                        Just("is_echo".to_string()),
                        Just("mids".to_string()),
                        "[a-z_]{1,8}",
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Whatever a signed body holds, parsing never panics, and every messaging item is
        /// either an event or a skip with a reason: nothing is dropped silently.
        #[test]
        fn every_item_of_any_body_is_an_event_or_a_skip(items in prop::collection::vec(any_json(), 0..8),
                                                        standby in prop::collection::vec(any_json(), 0..4),
                                                        time in any::<i64>()) {
            let body = json!({"object": "page", "entry": [
                {"id": "P1", "time": time, "messaging": items, "standby": standby}]});
            let p = parse(&body);
            prop_assert_eq!(p.events.len() + p.skipped.len(), items.len() + standby.len());
        }

        /// Any JSON at all parses without panicking.
        #[test]
        fn any_json_parses_without_panicking(v in any_json()) {
            let _ = parse(&v);
            let _ = parse(&json!({"object": "page", "entry": [v]}));
        }
    }
}
