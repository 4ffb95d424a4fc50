//! Local validation with the server's limits and field names, so a bad request fails before it is sent.

use otn::v1 as pb;

use crate::error::{Error, FieldViolation};

/// The longest opt-in request or rolling-consent title, in characters.
pub const MAX_TITLE: usize = 65;
/// The longest text message, in characters.
pub const MAX_TEXT: usize = 2000;
/// The longest button template text, in characters.
pub const MAX_TEMPLATE_TEXT: usize = 640;
/// The most buttons in a button template.
pub const MAX_BUTTONS: usize = 3;
/// The longest button title, in characters.
pub const MAX_BUTTON_TITLE: usize = 20;
/// The longest postback payload or opt-in payload, in characters.
pub const MAX_PAYLOAD: usize = 1000;
/// The most PSIDs in an explicit recipient list.
pub const MAX_RECIPIENTS_LIST: usize = 10_000;

/// Collects every violation of a request.
#[derive(Debug, Default)]
pub(crate) struct Violations(Vec<FieldViolation>);

impl Violations {
    pub(crate) fn push(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    pub(crate) fn finish(self) -> Result<(), Error> {
        match self.0.is_empty() {
            true => Ok(()),
            false => Err(Error::Invalid(self.0)),
        }
    }

    fn chars(&mut self, field: &str, v: &str, min: usize, max: usize) -> bool {
        let n = v.chars().count();
        if n < min || n > max {
            self.push(
                field,
                format!("must be {min} to {max} characters (got {n})"),
            );
            return false;
        }
        true
    }

    /// 1 to `max` characters of letters, digits and `extra`.
    pub(crate) fn ident(&mut self, field: &str, v: &str, max: usize, extra: &str) {
        if !self.chars(field, v, 1, max) {
            return;
        }
        if !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
        {
            self.push(
                field,
                format!("may only contain letters, digits and `{extra}`"),
            );
        }
    }

    pub(crate) fn page_id(&mut self, field: &str, v: &str) {
        self.ident(field, v, 64, "_-");
    }

    pub(crate) fn psid(&mut self, field: &str, v: &str) {
        self.ident(field, v, 64, "_-");
    }

    pub(crate) fn topic_key(&mut self, field: &str, v: &str) {
        self.ident(field, v, 128, "-_.:/");
    }

    pub(crate) fn request_id(&mut self, field: &str, v: &str) {
        self.ident(field, v, 128, "-_.:");
    }

    pub(crate) fn title(&mut self, field: &str, v: &str) {
        self.chars(field, v.trim(), 1, MAX_TITLE);
    }

    pub(crate) fn payload(&mut self, field: &str, v: &str) {
        self.chars(field, v, 0, MAX_PAYLOAD);
    }

    fn tags(&mut self, field: &str, tags: &[String]) {
        for (i, t) in tags.iter().enumerate() {
            self.ident(
                &format!("{field}[{i}]"),
                &t.trim().to_lowercase(),
                64,
                "-_.:",
            );
        }
    }

    fn regions(&mut self, field: &str, regions: &[String]) {
        for (i, r) in regions.iter().enumerate() {
            let r = r.trim();
            if r.len() != 2 || !r.chars().all(|c| c.is_ascii_alphabetic()) {
                self.push(
                    format!("{field}[{i}]"),
                    "must be an ISO 3166-1 alpha-2 code such as `DE`",
                );
            }
        }
    }
}

/// Whether `url` is an http(s) URL with a host.
pub fn is_web_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

fn content(v: &mut Violations, c: &Option<pb::Content>) {
    use pb::content::Body;
    match c.as_ref().and_then(|c| c.body.as_ref()) {
        None => v.push("content", "one text or one button template is required"),
        Some(Body::Text(t)) => {
            v.chars("content.text", t, 1, MAX_TEXT);
        }
        Some(Body::ButtonTemplate(b)) => {
            v.chars(
                "content.button_template.text",
                &b.text,
                1,
                MAX_TEMPLATE_TEXT,
            );
            if b.buttons.is_empty() || b.buttons.len() > MAX_BUTTONS {
                v.push(
                    "content.button_template.buttons",
                    format!(
                        "must hold 1 to {MAX_BUTTONS} buttons (got {})",
                        b.buttons.len()
                    ),
                );
            }
            for (i, btn) in b.buttons.iter().enumerate() {
                button(v, &format!("content.button_template.buttons[{i}]"), btn);
            }
        }
    }
}

fn button(v: &mut Violations, field: &str, b: &pb::Button) {
    use pb::button::Action;
    v.chars(&format!("{field}.title"), &b.title, 1, MAX_BUTTON_TITLE);
    match &b.action {
        Some(Action::WebUrl(u)) if !is_web_url(u) => {
            v.push(format!("{field}.web_url"), "must be an http(s) URL")
        }
        Some(Action::PostbackPayload(p)) => {
            v.chars(&format!("{field}.postback_payload"), p, 1, MAX_PAYLOAD);
        }
        Some(Action::WebUrl(_)) => {}
        None => v.push(
            format!("{field}.action"),
            "a web_url or a postback_payload is required",
        ),
    }
}

fn audience(v: &mut Violations, a: &Option<pb::Audience>) {
    use pb::audience::Selection;
    match a.as_ref().and_then(|a| a.selection.as_ref()) {
        None | Some(Selection::AllEligible(_)) => {}
        Some(Selection::TagFilter(f)) => {
            v.tags("audience.tag_filter.all_of", &f.all_of);
            v.tags("audience.tag_filter.any_of", &f.any_of);
            v.tags("audience.tag_filter.none_of", &f.none_of);
        }
        Some(Selection::Recipients(list)) => {
            if list.psids.is_empty() || list.psids.len() > MAX_RECIPIENTS_LIST {
                v.push(
                    "audience.recipients.psids",
                    format!("must name 1 to {MAX_RECIPIENTS_LIST} people"),
                );
            }
            for (i, p) in list.psids.iter().enumerate() {
                v.psid(&format!("audience.recipients.psids[{i}]"), p);
            }
        }
    }
}

/// Validates a SendNotification request as the server would (every bad field at once).
pub fn send_request(r: &pb::SendNotificationRequest) -> Result<(), Error> {
    let mut v = Violations::default();
    v.request_id("request_id", &r.request_id);
    v.page_id("page_id", &r.page_id);
    v.topic_key("topic_key", &r.topic_key);
    audience(&mut v, &r.audience);
    content(&mut v, &r.content);
    if let Some(o) = &r.options {
        if o.max_recipients < 0 {
            v.push("options.max_recipients", "must not be negative");
        }
        if let Some(rc) = &o.rolling_consent {
            v.title("options.rolling_consent.title", &rc.title);
        }
        v.regions("options.regions", &o.regions);
        if o.message_tag == "HUMAN_AGENT" {
            v.push(
                "options.message_tag",
                "HUMAN_AGENT is for a human's replies, never for automation",
            );
        }
    }
    v.finish()
}

/// Validates a RequestOptIn request as the server would.
pub fn opt_in_request(r: &pb::RequestOptInRequest) -> Result<(), Error> {
    let mut v = Violations::default();
    v.request_id("request_id", &r.request_id);
    v.page_id("page_id", &r.page_id);
    v.psid("psid", &r.psid);
    v.topic_key("topic_key", &r.topic_key);
    v.title("title", &r.title);
    v.payload("payload", &r.payload);
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::button::Action;

    fn fields(r: Result<(), Error>) -> Vec<String> {
        r.unwrap_err()
            .field_violations()
            .iter()
            .map(|v| v.field.clone())
            .collect()
    }

    fn req(content: pb::content::Body) -> pb::SendNotificationRequest {
        pb::SendNotificationRequest {
            request_id: "r-1".into(),
            page_id: "page".into(),
            topic_key: "back-in-stock:sku-1".into(),
            content: Some(pb::Content {
                body: Some(content),
            }),
            ..Default::default()
        }
    }

    fn btn(title: &str, action: Action) -> pb::Button {
        pb::Button {
            title: title.into(),
            action: Some(action),
        }
    }

    #[test]
    fn a_good_text_passes() {
        send_request(&req(pb::content::Body::Text("hi".into()))).unwrap();
        let max = "é".repeat(MAX_TEXT);
        send_request(&req(pb::content::Body::Text(max))).unwrap();
    }

    #[test]
    fn text_limits_count_characters() {
        let long = "é".repeat(MAX_TEXT + 1);
        assert_eq!(
            fields(send_request(&req(pb::content::Body::Text(long)))),
            ["content.text"]
        );
        assert_eq!(
            fields(send_request(&req(pb::content::Body::Text(String::new())))),
            ["content.text"]
        );
    }

    #[test]
    fn every_bad_part_of_a_button_template_is_named() {
        let t = pb::ButtonTemplate {
            text: "x".repeat(MAX_TEMPLATE_TEXT + 1),
            buttons: vec![
                btn("ok", Action::WebUrl("https://shop.example/a".into())),
                btn(&"t".repeat(21), Action::WebUrl("ftp://x".into())),
                btn("p", Action::PostbackPayload(String::new())),
                pb::Button {
                    title: "none".into(),
                    action: None,
                },
            ],
        };
        assert_eq!(
            fields(send_request(&req(pb::content::Body::ButtonTemplate(t)))),
            [
                "content.button_template.text",
                "content.button_template.buttons",
                "content.button_template.buttons[1].title",
                "content.button_template.buttons[1].web_url",
                "content.button_template.buttons[2].postback_payload",
                "content.button_template.buttons[3].action",
            ]
        );
    }

    #[test]
    fn no_buttons_is_refused() {
        let t = pb::ButtonTemplate {
            text: "x".into(),
            buttons: vec![],
        };
        assert_eq!(
            fields(send_request(&req(pb::content::Body::ButtonTemplate(t)))),
            ["content.button_template.buttons"]
        );
    }

    #[test]
    fn web_urls_must_be_http_or_https_with_a_host() {
        assert!(is_web_url("https://shop.example/x"));
        assert!(is_web_url("http://localhost:8080"));
        for bad in [
            "ftp://x",
            "https://",
            "https:///path",
            "javascript:alert(1)",
            "shop.example",
        ] {
            assert!(!is_web_url(bad), "{bad}");
        }
    }

    #[test]
    fn identifiers_and_options_are_checked() {
        let mut r = req(pb::content::Body::Text("hi".into()));
        r.page_id = "has space".into();
        r.topic_key = String::new();
        r.options = Some(pb::SendOptions {
            max_recipients: -1,
            regions: vec!["DEU".into()],
            message_tag: "HUMAN_AGENT".into(),
            rolling_consent: Some(pb::RollingConsent {
                title: "t".repeat(MAX_TITLE + 1),
            }),
            ..Default::default()
        });
        assert_eq!(
            fields(send_request(&r)),
            [
                "page_id",
                "topic_key",
                "options.max_recipients",
                "options.rolling_consent.title",
                "options.regions[0]",
                "options.message_tag",
            ]
        );
    }

    #[test]
    fn opt_in_titles_are_limited_to_65_characters() {
        let mut r = pb::RequestOptInRequest {
            request_id: "r".into(),
            page_id: "p".into(),
            psid: "u".into(),
            topic_key: "t".into(),
            title: "t".repeat(MAX_TITLE),
            payload: String::new(),
        };
        opt_in_request(&r).unwrap();
        r.title.push('x');
        assert_eq!(fields(opt_in_request(&r)), ["title"]);
    }
}
