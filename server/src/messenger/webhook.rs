//! Parsing of Messenger webhook bodies into inbound events, one event at a time: an event that
//! cannot be read (no sender, a field of an unexpected type, a kind the service does not use) is
//! skipped with its reason, never failing the rest of its batch.

use serde_json::Value;

use crate::domain::vocab::{GrantKind, InteractionKind};

/// What a webhook told the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inbound {
    /// A person opted in and Meta issued a token.
    OptIn {
        page_id: String,
        psid: String,
        at_ms: i64,
        kind: GrantKind,
        token: String,
        payload: String,
        title: Option<String>,
        /// A Marketing Messages opt-in's `notification_messages_timezone` (the person's zone).
        time_zone: Option<String>,
    },
    /// A person stopped (`stop`) or resumed marketing messages.
    NotificationStatus {
        page_id: String,
        psid: String,
        at_ms: i64,
        token: String,
        stop: bool,
    },
    /// A message, postback, reaction or referral: opens the 24-hour window.
    Interaction {
        page_id: String,
        psid: String,
        at_ms: i64,
        kind: InteractionKind,
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
    /// An echo of a message the page sent: Meta's own time of it, and our metadata.
    Echo {
        page_id: String,
        psid: String,
        mid: String,
        metadata: Option<String>,
        at_ms: i64,
    },
    /// Meta blocked (`block`) or unblocked the page's sending for policy enforcement.
    PolicyEnforcement {
        page_id: String,
        at_ms: i64,
        block: bool,
        reason: String,
    },
}

/// An event of a body that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skipped {
    /// The page of its entry, when it had one.
    pub(crate) page_id: Option<String>,
    /// A stable reason (logged and counted).
    pub(crate) reason: &'static str,
}

/// A parsed body: the events to apply, in order, and those skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub(crate) events: Vec<Inbound>,
    pub(crate) skipped: Vec<Skipped>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_string)
}

/// A number Meta may also send as a string of digits.
fn number(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An id Meta sends as a string (or, in some tools, a number).
fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn party(v: &Value, key: &str) -> Option<String> {
    id_of(v.get(key)?.get("id"))
}

/// The earliest time a Meta event may carry (2019-01-01): anything before is not Meta's.
pub(crate) const EARLIEST_PLAUSIBLE_MS: i64 = 1_546_300_800_000;

/// How far ahead of our clock a Meta time may be (Meta's clock skew is seconds, not days).
pub(crate) const FUTURE_SLACK_MS: i64 = 24 * 3_600_000;

/// Whether `t` can be a time Meta stamped, seen at `now_ms`.
fn plausible(t: i64, now_ms: i64) -> bool {
    (EARLIEST_PLAUSIBLE_MS..=now_ms.saturating_add(FUTURE_SLACK_MS)).contains(&t)
}

/// The page ids a body's entries name (each `entry[].id`, a string or a number), in order.
pub(crate) fn entry_page_ids(body: &Value) -> impl Iterator<Item = String> + '_ {
    body.get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| id_of(e.get("id")))
}

/// Parses a webhook body (any JSON). Objects other than `page` hold nothing for the service.
pub(crate) fn parse(body: &Value) -> Parsed {
    let mut out = Parsed::default();
    if body.get("object").and_then(Value::as_str) != Some("page") {
        out.skipped.push(Skipped {
            page_id: None,
            reason: "not_a_page_object",
        });
        return out;
    }
    let entries = body.get("entry").and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        let Some(page_id) = id_of(entry.get("id")) else {
            out.skipped.push(Skipped {
                page_id: None,
                reason: "entry_without_page_id",
            });
            continue;
        };
        let time = number(entry, "time").unwrap_or(0);
        let lists = ["messaging", "standby"]
            .iter()
            .filter_map(|k| entry.get(*k).and_then(Value::as_array))
            .flatten();
        for ev in lists {
            match event(&page_id, time, ev) {
                Ok(e) => out.events.push(e),
                Err(reason) => out.skipped.push(Skipped {
                    page_id: Some(page_id.clone()),
                    reason,
                }),
            }
        }
    }
    out
}

/// Whether every time the event carries (its timestamp, or its watermark) can be one Meta
/// stamped, seen at `now_ms`: not before 2019, not more than a day ahead. Implausible events
/// are skipped as `implausible_timestamp` (an `i64::MAX` stamp would otherwise become a grant
/// that never expires, or one that expired before it was made).
pub(crate) fn plausible_times(e: &Inbound, now_ms: i64) -> bool {
    let t = match e {
        Inbound::OptIn { at_ms, .. }
        | Inbound::NotificationStatus { at_ms, .. }
        | Inbound::Interaction { at_ms, .. }
        | Inbound::Echo { at_ms, .. }
        | Inbound::PolicyEnforcement { at_ms, .. } => *at_ms,
        Inbound::Delivery { watermark, .. } | Inbound::Read { watermark, .. } => *watermark,
    };
    plausible(t, now_ms)
}

fn event(page_id: &str, entry_time: i64, m: &Value) -> Result<Inbound, &'static str> {
    let page_id = page_id.to_string();
    let at_ms = number(m, "timestamp").unwrap_or(entry_time);
    if let Some(p) = m.get("policy_enforcement") {
        let block = match p.get("action").and_then(Value::as_str) {
            Some("block") => true,
            Some("unblock") => false,
            _ => return Err("policy_enforcement_without_action"),
        };
        return Ok(Inbound::PolicyEnforcement {
            page_id,
            at_ms,
            block,
            reason: text(p, "reason").unwrap_or_default(),
        });
    }
    if let Some(msg) = m
        .get("message")
        .filter(|msg| msg.get("is_echo") == Some(&Value::Bool(true)))
    {
        let mid = text(msg, "mid").filter(|mid| !mid.is_empty());
        let (Some(psid), Some(mid)) = (party(m, "recipient"), mid) else {
            return Err("echo_without_recipient_or_mid");
        };
        return Ok(Inbound::Echo {
            page_id,
            psid,
            mid,
            metadata: text(msg, "metadata"),
            at_ms,
        });
    }
    let Some(psid) = party(m, "sender") else {
        return Err(match m.get("optin").and_then(|o| o.get("user_ref")) {
            Some(_) => "optin_with_user_ref_and_no_sender",
            None => "event_without_sender",
        });
    };
    if let Some(o) = m.get("optin") {
        return optin(page_id, psid, at_ms, o);
    }
    if let Some(d) = m.get("delivery") {
        let mids = match d.get("mids") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(_) => return Err("delivery_mids_not_a_list"),
        };
        let watermark = number(d, "watermark").ok_or("delivery_without_watermark")?;
        return Ok(Inbound::Delivery {
            page_id,
            psid,
            mids,
            watermark,
        });
    }
    if let Some(r) = m.get("read") {
        let watermark = number(r, "watermark").ok_or("read_without_watermark")?;
        return Ok(Inbound::Read {
            page_id,
            psid,
            watermark,
        });
    }
    let kind = if m.get("message").is_some() {
        InteractionKind::Message
    } else if m.get("postback").is_some() {
        InteractionKind::Postback
    } else if m.get("reaction").is_some() {
        InteractionKind::Reaction
    } else if m.get("referral").is_some() {
        InteractionKind::Referral
    } else {
        return Err("unsupported_event");
    };
    Ok(Inbound::Interaction {
        page_id,
        psid,
        at_ms,
        kind,
    })
}

fn optin(page_id: String, psid: String, at_ms: i64, o: &Value) -> Result<Inbound, &'static str> {
    if let Some(status) = o.get("notification_messages_status") {
        let stop = match status.as_str() {
            Some("STOP NOTIFICATIONS") => true,
            Some("RESUME NOTIFICATIONS") => false,
            _ => return Err("unknown_notification_messages_status"),
        };
        let token = text(o, "notification_messages_token").ok_or("status_without_token")?;
        return Ok(Inbound::NotificationStatus {
            page_id,
            psid,
            at_ms,
            token,
            stop,
        });
    }
    let (kind, token) = match (
        text(o, "one_time_notif_token"),
        text(o, "notification_messages_token"),
    ) {
        (Some(t), _) => (GrantKind::OneTimeNotification, t),
        (None, Some(t)) => (GrantKind::MarketingMessages, t),
        (None, None) => return Err("optin_without_token"),
    };
    Ok(Inbound::OptIn {
        page_id,
        psid,
        at_ms,
        kind,
        token,
        payload: text(o, "payload").unwrap_or_default(),
        title: text(o, "title"),
        time_zone: text(o, "notification_messages_timezone").filter(|z| !z.is_empty()),
    })
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
