//! Parsing of Messenger webhook bodies into inbound events (opt-ins, stops, interactions,
//! receipts), tolerant of batching and of fields the service does not use.

use serde::Deserialize;

use crate::domain::grant::GrantKind;

/// What a webhook told the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A person opted in and Meta issued a token.
    OptIn {
        page_id: String,
        psid: String,
        at_ms: i64,
        kind: GrantKind,
        token: String,
        payload: String,
        title: Option<String>,
        expires_ms: Option<i64>,
    },
    /// A person stopped (`stop`) or resumed marketing messages.
    NotificationStatus {
        page_id: String,
        psid: String,
        at_ms: i64,
        token: Option<String>,
        stop: bool,
    },
    /// A message, postback, reaction or referral: opens the 24-hour window.
    Interaction {
        page_id: String,
        psid: String,
        at_ms: i64,
        kind: i32,
    },
    /// Messages were delivered (by mid, or all up to the watermark).
    Delivery {
        page_id: String,
        psid: String,
        mids: Vec<String>,
        watermark: i64,
    },
    /// Messages up to the watermark were read.
    Read {
        page_id: String,
        psid: String,
        watermark: i64,
    },
}

#[derive(Deserialize)]
struct Envelope {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    id: String,
    #[serde(default)]
    time: i64,
    #[serde(default)]
    messaging: Vec<Messaging>,
    #[serde(default)]
    standby: Vec<Messaging>,
}

#[derive(Deserialize)]
struct Party {
    id: String,
}

#[derive(Deserialize)]
struct Messaging {
    sender: Party,
    #[serde(default)]
    timestamp: Option<i64>,
    optin: Option<OptIn>,
    message: Option<Message>,
    postback: Option<serde_json::Value>,
    reaction: Option<serde_json::Value>,
    referral: Option<serde_json::Value>,
    delivery: Option<Delivery>,
    read: Option<Read>,
}

#[derive(Deserialize)]
struct OptIn {
    #[serde(rename = "type")]
    kind: Option<String>,
    payload: Option<String>,
    one_time_notif_token: Option<String>,
    notification_messages_token: Option<String>,
    title: Option<String>,
    token_expiry_timestamp: Option<i64>,
    notification_messages_status: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    is_echo: bool,
}

#[derive(Deserialize)]
struct Delivery {
    #[serde(default)]
    mids: Vec<String>,
    #[serde(default)]
    watermark: i64,
}

#[derive(Deserialize)]
struct Read {
    watermark: i64,
}

/// Interaction kinds (numbers match `otn.v1.InteractionKind`).
pub mod interaction {
    pub const MESSAGE: i32 = 1;
    pub const POSTBACK: i32 = 2;
    pub const REACTION: i32 = 3;
    pub const REFERRAL: i32 = 4;
}

/// Parses a webhook body. Events of other objects than `page`, echoes of the page's own
/// messages and unknown event types are skipped.
pub fn parse(body: &[u8]) -> Result<Vec<Inbound>, serde_json::Error> {
    let env: Envelope = serde_json::from_slice(body)?;
    if env.object != "page" {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in env.entry {
        for m in entry.messaging.into_iter().chain(entry.standby) {
            if let Some(ev) = convert(&entry.id, entry.time, m) {
                out.push(ev);
            }
        }
    }
    Ok(out)
}

fn convert(page_id: &str, entry_time: i64, m: Messaging) -> Option<Inbound> {
    let page_id = page_id.to_string();
    let psid = m.sender.id;
    let at_ms = m.timestamp.unwrap_or(entry_time);
    if let Some(o) = m.optin {
        if let Some(status) = o.notification_messages_status {
            let stop = match status.as_str() {
                "STOP NOTIFICATIONS" => true,
                "RESUME NOTIFICATIONS" => false,
                _ => return None,
            };
            return Some(Inbound::NotificationStatus {
                page_id,
                psid,
                at_ms,
                token: o.notification_messages_token,
                stop,
            });
        }
        let (kind, token) = match (o.one_time_notif_token, o.notification_messages_token) {
            (Some(t), _) => (GrantKind::OneTimeNotification, t),
            (None, Some(t)) => (GrantKind::MarketingMessages, t),
            (None, None) => return None,
        };
        let _ = o.kind;
        return Some(Inbound::OptIn {
            page_id,
            psid,
            at_ms,
            kind,
            token,
            payload: o.payload.unwrap_or_default(),
            title: o.title,
            expires_ms: o.token_expiry_timestamp,
        });
    }
    if let Some(d) = m.delivery {
        return Some(Inbound::Delivery {
            page_id,
            psid,
            mids: d.mids,
            watermark: d.watermark,
        });
    }
    if let Some(r) = m.read {
        return Some(Inbound::Read {
            page_id,
            psid,
            watermark: r.watermark,
        });
    }
    let kind = match (&m.message, &m.postback, &m.reaction, &m.referral) {
        (Some(msg), ..) if msg.is_echo => return None,
        (Some(_), ..) => interaction::MESSAGE,
        (None, Some(_), ..) => interaction::POSTBACK,
        (None, None, Some(_), _) => interaction::REACTION,
        (None, None, None, Some(_)) => interaction::REFERRAL,
        _ => return None,
    };
    Some(Inbound::Interaction {
        page_id,
        psid,
        at_ms,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_of_mixed_events_is_parsed_in_order() {
        let body = br#"{"object":"page","entry":[
          {"id":"P1","time":1,"messaging":[
            {"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":10,
             "optin":{"type":"one_time_notif_req","payload":"otn1:abc","one_time_notif_token":"T1"}},
            {"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":11,"message":{"mid":"m1","text":"hi"}},
            {"sender":{"id":"P1"},"recipient":{"id":"U1"},"timestamp":12,"message":{"mid":"m2","is_echo":true}}]},
          {"id":"P2","time":2,"messaging":[
            {"sender":{"id":"U2"},"recipient":{"id":"P2"},"delivery":{"mids":["m9"],"watermark":20}},
            {"sender":{"id":"U2"},"recipient":{"id":"P2"},"timestamp":21,"read":{"watermark":20}},
            {"sender":{"id":"U2"},"recipient":{"id":"P2"},"timestamp":22,
             "optin":{"type":"notification_messages","notification_messages_token":"M1",
                      "notification_messages_status":"STOP NOTIFICATIONS"}}]}]}"#;
        let events = parse(body).unwrap();
        assert_eq!(events.len(), 5);
        assert!(
            matches!(&events[0], Inbound::OptIn { token, kind: GrantKind::OneTimeNotification, .. } if token == "T1")
        );
        assert!(matches!(
            &events[1],
            Inbound::Interaction {
                at_ms: 11,
                kind: 1,
                ..
            }
        ));
        assert!(matches!(&events[2], Inbound::Delivery { mids, .. } if mids == &["m9"]));
        assert!(matches!(&events[3], Inbound::Read { watermark: 20, .. }));
        assert!(matches!(
            &events[4],
            Inbound::NotificationStatus { stop: true, .. }
        ));
    }
}
