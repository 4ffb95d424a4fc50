//! Conversions of the sending RPCs: SendNotification (checked by the contract's rules, the ones
//! the Rust SDK applies, then built into domain values) and the wire form of notifications.

use otn::v1 as pb;
use prost::Message;
use sha2::{Digest, Sha256};

use super::convert::{exclusion, notification_state, tag_filter, ts};
use crate::domain::content::{Button, Content};
use crate::domain::notification::{Audience, NotificationStatus, SendInput, SendOptions};
use crate::domain::polite::{FrequencyCap, QuietHours};
use crate::domain::values::{
    PageId, Psid, RequestId, Title, TopicKey, Violations, checked, parse_regions,
};
use crate::domain::vocab::{DeliveryState, MessageTag};
use crate::error::{Error, Result};

fn content(c: Option<&pb::Content>) -> Result<Content> {
    use pb::content::Body;
    let body = c.and_then(|c| c.body.as_ref());
    let built = match body {
        None => {
            return Err(Error::field(
                "content",
                "one text or one button template is required",
            ));
        }
        Some(Body::Text(t)) => Content::text("content.text", t),
        Some(Body::ButtonTemplate(b)) => {
            let field = "content.button_template";
            let buttons = b
                .buttons
                .iter()
                .enumerate()
                .map(|(i, btn)| {
                    let f = format!("{field}.buttons[{i}]");
                    match &btn.action {
                        Some(pb::button::Action::WebUrl(u)) => Button::web_url(&f, &btn.title, u),
                        Some(pb::button::Action::PostbackPayload(p)) => {
                            Button::postback(&f, &btn.title, p)
                        }
                        None => Err(crate::error::FieldViolation::new(
                            format!("{f}.action"),
                            "a web_url or a postback_payload is required",
                        )),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            Content::buttons(field, &b.text, buttons)
        }
    };
    Ok(built?)
}

fn audience(v: &mut Violations, a: Option<&pb::Audience>) -> Audience {
    match a.and_then(|a| a.selection.as_ref()) {
        None | Some(pb::audience::Selection::AllEligible(_)) => Audience::AllEligible,
        Some(pb::audience::Selection::TagFilter(f)) => {
            Audience::Tags(tag_filter(v, "audience.tag_filter", Some(f)))
        }
        Some(pb::audience::Selection::Recipients(list)) => {
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

/// Validates a SendNotification: the contract's rules first (every bad field at once, exactly
/// as the Rust SDK refuses them), then the domain values.
pub(super) fn send_input(r: &pb::SendNotificationRequest) -> Result<SendInput> {
    otn::rules::send_notification(r)?;
    let mut v = Violations::default();
    let request_id = v.check(RequestId::parse("request_id", &r.request_id));
    let page = v.check(PageId::parse("page_id", &r.page_id));
    let topic = v.check(TopicKey::parse_assignable("topic_key", &r.topic_key));
    let audience = audience(&mut v, r.audience.as_ref());
    let o = r.options.clone().unwrap_or_default();
    let scheduled = o
        .scheduled_time
        .as_ref()
        .and_then(|t| v.check(otn::rules::timestamp("options.scheduled_time", t)));
    let rolling = o
        .rolling_consent
        .as_ref()
        .and_then(|rc| v.check(Title::parse("options.rolling_consent.title", &rc.title)));
    let regions = parse_regions(&mut v, "options.regions", &o.regions);
    let tag = match o.message_tag.as_str() {
        "" => None,
        t => MessageTag::from_name(t),
    };
    let cap = o.frequency_cap.as_ref().map(|c| frequency_cap(&mut v, c));
    v.finish()?;
    let content = content(r.content.as_ref())?;
    let mut canonical = r.clone();
    canonical.request_id.clear();
    let hash = hex::encode(Sha256::digest(canonical.encode_to_vec()));
    Ok(SendInput {
        request_id: checked(request_id)?,
        request_hash: hash,
        page_id: checked(page)?,
        topic_key: checked(topic)?,
        audience,
        content,
        options: SendOptions {
            max_recipients: (o.max_recipients > 0).then_some(o.max_recipients as u32),
            include_window_recipients: o.include_window_recipients,
            dry_run: o.dry_run,
            scheduled_ms: scheduled,
            rolling_title: rolling,
            regions,
            message_tag: tag,
            frequency_cap: cap.map(|c| c.flatten()),
            exclude_over_cap: o.over_cap == pb::OverCapAction::Exclude as i32,
            ignore_quiet_hours: o.ignore_quiet_hours,
        },
    })
}

/// A send's frequency cap: `None` for `max_notifications = 0` (no cap).
fn frequency_cap(v: &mut Violations, c: &pb::FrequencyCap) -> Option<Option<FrequencyCap>> {
    let mut ok = true;
    if !(0..=10_000).contains(&c.max_notifications) {
        v.push(
            "options.frequency_cap.max_notifications",
            "must be 0 to 10000",
        );
        ok = false;
    }
    if c.max_notifications > 0 && !(60..=2_592_000).contains(&c.window_seconds) {
        v.push(
            "options.frequency_cap.window_seconds",
            "must be 60 to 2592000 (30 days)",
        );
        ok = false;
    }
    ok.then(|| {
        (c.max_notifications > 0).then(|| FrequencyCap {
            max: c.max_notifications as u32,
            window_ms: c.window_seconds * 1000,
        })
    })
}

/// The wire form of a frequency cap.
fn cap_of(c: &FrequencyCap) -> pb::FrequencyCap {
    pb::FrequencyCap {
        max_notifications: c.max as i32,
        window_seconds: c.window_ms / 1000,
    }
}

/// The wire form of a notification with its counts.
pub(crate) fn notification(s: &NotificationStatus) -> pb::Notification {
    let n = &s.notification;
    let c = |st: DeliveryState| s.counts.get(&st).copied().unwrap_or(0);
    pb::Notification {
        notification_id: n.id.clone(),
        request_id: n.request_id.clone(),
        page_id: n.page_id.clone(),
        topic_key: n.topic_key.clone(),
        state: notification_state(n.state) as i32,
        plan: Some(pb::SendPlan {
            grant_sends: n.plan.grant_sends,
            window_sends: n.plan.window_sends,
            tag_sends: n.plan.tag_sends,
            exclusions: n
                .plan
                .exclusions
                .iter()
                .map(|(reason, count)| pb::ExclusionCount {
                    reason: exclusion(*reason) as i32,
                    count: *count,
                })
                .collect(),
            deferred_by_frequency_cap: n.plan.deferred_by_cap,
            deferred_by_quiet_hours: n.plan.deferred_by_quiet,
            frequency_cap: n.polite.cap.as_ref().map(cap_of),
            quiet_hours: n.polite.quiet.map(|q| pb::QuietHours {
                start: QuietHours::clock(q.start_min),
                end: QuietHours::clock(q.end_min),
            }),
            quiet_hours_ignored: n.polite.quiet_ignored,
        }),
        counts: Some(pb::DeliveryCounts {
            queued: c(DeliveryState::Queued),
            sending: c(DeliveryState::Sending),
            sent: c(DeliveryState::Sent),
            delivered: c(DeliveryState::Delivered),
            read: c(DeliveryState::Read),
            failed: c(DeliveryState::Failed),
            cancelled: c(DeliveryState::Cancelled),
            unconfirmed: c(DeliveryState::Unconfirmed),
        }),
        create_time: Some(ts(n.created_ms)),
        scheduled_time: Some(ts(n.scheduled_ms)),
        complete_time: n.completed_ms.map(ts),
        created_by: n.created_by.clone(),
        message_tag: n
            .message_tag
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        planning: n.planning,
        paused_reason: s.paused_reason.clone().unwrap_or_default(),
    }
}
