//! Conversions of the sending RPCs: SendNotification validation (content, audience, options)
//! and the wire form of notifications.

use std::collections::HashMap;

use otn::v1 as pb;
use prost::Message;
use sha2::{Digest, Sha256};

use super::convert::{ms_of, tag_filter, ts};
use crate::domain::send::{
    Audience, Button, ButtonAction, Content, KNOWN_TAGS, SendInput, SendOptions,
};
use crate::domain::types::{
    PageId, Psid, RequestId, Title, TopicKey, Violations, checked, parse_regions,
};
use crate::error::Result;
use crate::ledger::send::plan_of;
use crate::store::notifications::{NotificationRow, delivery_state as ds};

fn content(v: &mut Violations, c: &Option<pb::Content>) -> Option<Content> {
    let body = c.as_ref().and_then(|c| c.body.as_ref());
    match body {
        None => {
            v.push("content", "one text or one button template is required");
            None
        }
        Some(pb::content::Body::Text(t)) => {
            let n = t.chars().count();
            if n == 0 || n > 2000 {
                v.push(
                    "content.text",
                    format!("must be 1 to 2000 characters (got {n})"),
                );
                return None;
            }
            Some(Content::Text(t.clone()))
        }
        Some(pb::content::Body::ButtonTemplate(b)) => {
            let n = b.text.chars().count();
            if n == 0 || n > 640 {
                v.push(
                    "content.button_template.text",
                    format!("must be 1 to 640 characters (got {n})"),
                );
            }
            if b.buttons.is_empty() || b.buttons.len() > 3 {
                v.push(
                    "content.button_template.buttons",
                    "must hold 1 to 3 buttons",
                );
            }
            let mut buttons = Vec::new();
            for (i, btn) in b.buttons.iter().enumerate() {
                let field = format!("content.button_template.buttons[{i}]");
                let t = btn.title.chars().count();
                if t == 0 || t > 20 {
                    v.push(
                        format!("{field}.title"),
                        format!("must be 1 to 20 characters (got {t})"),
                    );
                }
                let action = match &btn.action {
                    Some(pb::button::Action::WebUrl(u))
                        if u.starts_with("https://") || u.starts_with("http://") =>
                    {
                        ButtonAction::WebUrl(u.clone())
                    }
                    Some(pb::button::Action::WebUrl(_)) => {
                        v.push(format!("{field}.web_url"), "must be an http(s) URL");
                        continue;
                    }
                    Some(pb::button::Action::PostbackPayload(p))
                        if !p.is_empty() && p.chars().count() <= 1000 =>
                    {
                        ButtonAction::Postback(p.clone())
                    }
                    Some(pb::button::Action::PostbackPayload(_)) => {
                        v.push(
                            format!("{field}.postback_payload"),
                            "must be 1 to 1000 characters",
                        );
                        continue;
                    }
                    None => {
                        v.push(
                            format!("{field}.action"),
                            "a web_url or a postback_payload is required",
                        );
                        continue;
                    }
                };
                buttons.push(Button {
                    title: btn.title.clone(),
                    action,
                });
            }
            Some(Content::Buttons {
                text: b.text.clone(),
                buttons,
            })
        }
    }
}

fn audience(v: &mut Violations, a: &Option<pb::Audience>) -> Audience {
    match a.as_ref().and_then(|a| a.selection.as_ref()) {
        None | Some(pb::audience::Selection::AllEligible(_)) => Audience::AllEligible,
        Some(pb::audience::Selection::TagFilter(f)) => {
            Audience::Tags(tag_filter(v, "audience.tag_filter", &Some(f.clone())))
        }
        Some(pb::audience::Selection::Recipients(list)) => {
            if list.psids.is_empty() || list.psids.len() > 10_000 {
                v.push("audience.recipients.psids", "must name 1 to 10000 people");
            }
            let mut psids: Vec<Psid> = list
                .psids
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    v.check(Psid::parse(&format!("audience.recipients.psids[{i}]"), p))
                })
                .collect();
            psids.sort();
            psids.dedup();
            Audience::Psids(psids)
        }
    }
}

/// Validates a SendNotification.
pub fn send_input(r: &pb::SendNotificationRequest) -> Result<SendInput> {
    let mut v = Violations::default();
    let request_id = v.check(RequestId::parse("request_id", &r.request_id));
    let page = v.check(PageId::parse("page_id", &r.page_id));
    let topic = v.check(TopicKey::parse("topic_key", &r.topic_key));
    let audience = audience(&mut v, &r.audience);
    let content = content(&mut v, &r.content);
    let o = r.options.clone().unwrap_or_default();
    if o.max_recipients < 0 {
        v.push("options.max_recipients", "must not be negative");
    }
    let scheduled = ms_of(&mut v, "options.scheduled_time", &o.scheduled_time);
    let rolling = o
        .rolling_consent
        .as_ref()
        .and_then(|rc| v.check(Title::parse("options.rolling_consent.title", &rc.title)));
    let regions = parse_regions(&mut v, "options.regions", &o.regions);
    let tag = match o.message_tag.as_str() {
        "" => None,
        "HUMAN_AGENT" => {
            v.push(
                "options.message_tag",
                "HUMAN_AGENT is for a human's replies, never for automation",
            );
            None
        }
        t if KNOWN_TAGS.contains(&t) => Some(t.to_string()),
        _ => {
            v.push(
                "options.message_tag",
                format!("must be one of {}", KNOWN_TAGS.join(", ")),
            );
            None
        }
    };
    v.finish()?;
    let mut canonical = r.clone();
    canonical.request_id.clear();
    let hash = hex::encode(Sha256::digest(canonical.encode_to_vec()));
    Ok(SendInput {
        request_id: checked(request_id)?,
        request_hash: hash,
        page_id: checked(page)?,
        topic_key: checked(topic)?,
        audience,
        content: checked(content)?,
        options: SendOptions {
            max_recipients: (o.max_recipients > 0).then_some(o.max_recipients as u32),
            include_window_recipients: o.include_window_recipients,
            dry_run: o.dry_run,
            scheduled_ms: scheduled,
            rolling_title: rolling,
            regions,
            message_tag: tag,
        },
    })
}

/// The wire form of a notification with its counts.
pub fn notification(row: &NotificationRow, counts: &HashMap<i32, i64>) -> pb::Notification {
    let plan = plan_of(row);
    let c = |s: i32| counts.get(&s).copied().unwrap_or(0);
    pb::Notification {
        notification_id: row.id.clone(),
        request_id: row.request_id.clone(),
        page_id: row.page_id.clone(),
        topic_key: row.topic_key.clone(),
        state: row.state,
        plan: Some(pb::SendPlan {
            grant_sends: plan.grant_sends,
            window_sends: plan.window_sends,
            tag_sends: plan.tag_sends,
            exclusions: plan
                .exclusions
                .iter()
                .map(|(reason, count)| pb::ExclusionCount {
                    reason: *reason,
                    count: *count,
                })
                .collect(),
        }),
        counts: Some(pb::DeliveryCounts {
            queued: c(ds::QUEUED),
            sending: c(ds::SENDING),
            sent: c(ds::SENT),
            delivered: c(ds::DELIVERED),
            read: c(ds::READ),
            failed: c(ds::FAILED),
            cancelled: c(ds::CANCELLED),
        }),
        create_time: Some(ts(row.created_at)),
        scheduled_time: Some(ts(row.scheduled_at)),
        complete_time: row.completed_at.map(ts),
    }
}
