//! The rules of whole requests: the one message of a send, its audience and options, and an
//! opt-in request, every bad field reported at once.

use super::{
    Violation, Violations, count, https_url, ident, message_tag, page_id, page_size, payload, psid,
    region, request_id, tag, text, timestamp, title, topic_key, web_url,
};
use crate::limits::*;
use crate::v1 as pb;

/// Checks the one message a grant allows: one text, or one button template.
pub fn content(v: &mut Violations, c: Option<&pb::Content>) {
    use pb::content::Body;
    match c.and_then(|c| c.body.as_ref()) {
        None => v.push("content", "one text or one button template is required"),
        Some(Body::Text(t)) => {
            v.check(text("content.text", t, 1, TEXT_MAX_CHARS));
        }
        Some(Body::ButtonTemplate(b)) => {
            v.check(text(
                "content.button_template.text",
                &b.text,
                1,
                TEMPLATE_TEXT_MAX_CHARS,
            ));
            let field = "content.button_template.buttons";
            if count(v, field, b.buttons.len(), 1, BUTTONS_MAX) {
                for (i, btn) in b.buttons.iter().enumerate() {
                    button(v, &format!("{field}[{i}]"), btn);
                }
            }
        }
    }
}

fn button(v: &mut Violations, field: &str, b: &pb::Button) {
    use pb::button::Action;
    v.check(text(
        &format!("{field}.title"),
        &b.title,
        1,
        BUTTON_TITLE_MAX_CHARS,
    ));
    match &b.action {
        Some(Action::WebUrl(u)) => {
            v.check(web_url(&format!("{field}.web_url"), u));
        }
        Some(Action::PostbackPayload(p)) => {
            v.check(text(
                &format!("{field}.postback_payload"),
                p,
                1,
                POSTBACK_PAYLOAD_MAX_CHARS,
            ));
        }
        None => v.push(
            format!("{field}.action"),
            "a web_url or a postback_payload is required",
        ),
    }
}

/// Checks a list of at most `max` tags, naming each bad one by index.
pub fn tags(v: &mut Violations, field: &str, list: &[String], max: usize) {
    if count(v, field, list.len(), 0, max) {
        for (i, t) in list.iter().enumerate() {
            v.check(tag(&format!("{field}[{i}]"), t));
        }
    }
}

/// Checks a list of regions, naming each bad one by index.
pub fn regions(v: &mut Violations, field: &str, list: &[String]) {
    if count(v, field, list.len(), 0, REGIONS_MAX) {
        for (i, r) in list.iter().enumerate() {
            v.check(region(&format!("{field}[{i}]"), r));
        }
    }
}

/// Checks a tag filter: each list at most [`TAG_FILTER_TAGS_MAX`] valid tags.
pub fn tag_filter(v: &mut Violations, field: &str, f: &pb::TagFilter) {
    for (name, list) in [
        ("all_of", &f.all_of),
        ("any_of", &f.any_of),
        ("none_of", &f.none_of),
    ] {
        tags(v, &format!("{field}.{name}"), list, TAG_FILTER_TAGS_MAX);
    }
}

fn audience(v: &mut Violations, a: Option<&pb::Audience>) {
    use pb::audience::Selection;
    match a.and_then(|a| a.selection.as_ref()) {
        None | Some(Selection::AllEligible(_)) => {}
        Some(Selection::TagFilter(f)) => tag_filter(v, "audience.tag_filter", f),
        Some(Selection::Recipients(list)) => {
            let field = "audience.recipients.psids";
            if count(v, field, list.psids.len(), 1, RECIPIENTS_LIST_MAX) {
                for (i, p) in list.psids.iter().enumerate() {
                    v.check(psid(&format!("{field}[{i}]"), p));
                }
            }
        }
    }
}

fn send_options(v: &mut Violations, o: &pb::SendOptions) {
    if o.max_recipients < 0 {
        v.push("options.max_recipients", "must not be negative");
    }
    if let Some(t) = &o.scheduled_time {
        v.check(timestamp("options.scheduled_time", t));
    }
    if let Some(rc) = &o.rolling_consent {
        v.check(title("options.rolling_consent.title", &rc.title));
    }
    regions(v, "options.regions", &o.regions);
    if !o.message_tag.is_empty() {
        v.check(message_tag("options.message_tag", &o.message_tag));
    }
}

/// Checks a SendNotification request (every bad field at once).
pub fn send_notification(r: &pb::SendNotificationRequest) -> Result<(), Vec<Violation>> {
    let mut v = Violations::default();
    v.check(request_id("request_id", &r.request_id));
    v.check(page_id("page_id", &r.page_id));
    v.check(topic_key("topic_key", &r.topic_key));
    audience(&mut v, r.audience.as_ref());
    content(&mut v, r.content.as_ref());
    if let Some(o) = &r.options {
        send_options(&mut v, o);
    }
    v.finish()
}

/// Checks a ListEligible request (every bad field at once; the page token is the server's).
pub fn list_eligible(r: &pb::ListEligibleRequest) -> Result<(), Vec<Violation>> {
    let mut v = Violations::default();
    v.check(page_id("page_id", &r.page_id));
    v.check(topic_key("topic_key", &r.topic_key));
    if let Some(f) = &r.tag_filter {
        tag_filter(&mut v, "tag_filter", f);
    }
    regions(&mut v, "regions", &r.regions);
    v.check(page_size("page_size", r.page_size));
    v.finish()
}

/// Checks a RequestOptIn request (every bad field at once).
pub fn request_opt_in(r: &pb::RequestOptInRequest) -> Result<(), Vec<Violation>> {
    let mut v = Violations::default();
    v.check(request_id("request_id", &r.request_id));
    v.check(page_id("page_id", &r.page_id));
    v.check(psid("psid", &r.psid));
    v.check(topic_key("topic_key", &r.topic_key));
    v.check(title("title", &r.title));
    v.check(payload("payload", &r.payload));
    if pb::OptInTemplate::try_from(r.template).is_err() {
        v.push("template", format!("unknown template {}", r.template));
    }
    if let Some(m) = &r.marketing {
        if !m.image_url.is_empty() {
            v.check(https_url("marketing.image_url", &m.image_url));
        }
        if pb::ImageAspectRatio::try_from(m.image_aspect_ratio).is_err() {
            v.push("marketing.image_aspect_ratio", "unknown aspect ratio");
        }
        if pb::CtaText::try_from(m.cta_text).is_err() {
            v.push("marketing.cta_text", "unknown call-to-action text");
        }
        if !m.timezone.is_empty() {
            v.check(ident("marketing.timezone", &m.timezone, 64, "/_-+"));
        }
    }
    v.finish()
}
