//! The shared validation cases (`proto/otn/v1/validation-cases.json`), as requests: every client
//! validator and the server must refuse exactly the fields each case names.

use otn::v1 as pb;
use serde_json::Value;

/// The cases file, compiled in.
const CASES: &str = include_str!("../../proto/otn/v1/validation-cases.json");

/// One edge case as a request.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub request: Request,
    /// The BadRequest field paths expected (empty: the request is valid).
    pub violations: Vec<String>,
}

/// The request of a case.
#[derive(Debug, Clone)]
pub enum Request {
    Send(pb::SendNotificationRequest),
    OptIn(pb::RequestOptInRequest),
    ListEligible(pb::ListEligibleRequest),
}

fn value(v: &Value) -> Value {
    let times = v.get("times").and_then(Value::as_u64).unwrap_or(0) as usize;
    match (
        v.get("repeat").and_then(Value::as_str),
        v.get("list").and_then(Value::as_str),
    ) {
        (Some(s), _) => Value::String(s.repeat(times)),
        (_, Some(s)) => Value::Array(vec![Value::String(s.to_string()); times]),
        _ => v.clone(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The expected field paths: a list, or `{"each": P, "count": N}`.
fn violations(v: &Value) -> Vec<String> {
    match (
        v.get("each").and_then(Value::as_str),
        v.get("count").and_then(Value::as_u64),
    ) {
        (Some(p), Some(n)) => (0..n).map(|i| p.replace("{i}", &i.to_string())).collect(),
        _ => strings(v),
    }
}

fn tag_filter(set: &str, v: &Value) -> pb::TagFilter {
    let mut f = pb::TagFilter::default();
    match set.rsplit('.').next() {
        Some("all_of") => f.all_of = strings(v),
        Some("any_of") => f.any_of = strings(v),
        Some("none_of") => f.none_of = strings(v),
        _ => panic!("validation case sets an unknown tag filter field {set}"),
    }
    f
}

fn list_eligible(set: &str, v: &Value) -> pb::ListEligibleRequest {
    let mut r = pb::ListEligibleRequest {
        page_id: "case-page".into(),
        topic_key: "back-in-stock:sku-1".into(),
        ..Default::default()
    };
    match set {
        s if s.starts_with("tag_filter.") => r.tag_filter = Some(tag_filter(s, v)),
        "regions" => r.regions = strings(v),
        "page_size" => r.page_size = v.as_i64().unwrap_or_default() as i32,
        other => panic!("validation case sets an unknown ListEligible field {other}"),
    }
    r
}

fn button(title: &str, url: &str) -> pb::Button {
    pb::Button {
        title: title.into(),
        action: Some(pb::button::Action::WebUrl(url.into())),
    }
}

fn send(set: &str, v: &Value) -> pb::SendNotificationRequest {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut r = pb::SendNotificationRequest {
        request_id: "case-1".into(),
        page_id: "case-page".into(),
        topic_key: "back-in-stock:sku-1".into(),
        content: Some(pb::Content {
            body: Some(pb::content::Body::Text("Back in stock".into())),
        }),
        ..Default::default()
    };
    let mut template = pb::ButtonTemplate {
        text: "Back in stock".into(),
        buttons: vec![button("Buy", "https://shop.example/sku-1")],
    };
    match set {
        "content.text" => {
            r.content = Some(pb::Content {
                body: Some(pb::content::Body::Text(text(v))),
            })
        }
        "content.button_template.text" => template.text = text(v),
        "content.button_template.buttons" => {
            let n = v["count"].as_u64().unwrap_or(0) as usize;
            template.buttons = (0..n)
                .map(|i| button(&format!("B{i}"), "https://s.example/"))
                .collect();
        }
        "content.button_template.buttons[0].title" => template.buttons[0].title = text(v),
        "content.button_template.buttons[0].web_url" => {
            template.buttons[0].action = Some(pb::button::Action::WebUrl(text(v)))
        }
        "content.button_template.buttons[0].postback_payload" => {
            template.buttons[0].action = Some(pb::button::Action::PostbackPayload(text(v)))
        }
        "options.message_tag" => {
            r.options = Some(pb::SendOptions {
                message_tag: text(v),
                ..Default::default()
            })
        }
        "options.rolling_consent.title" => {
            r.options = Some(pb::SendOptions {
                rolling_consent: Some(pb::RollingConsent { title: text(v) }),
                ..Default::default()
            })
        }
        "options.regions" => {
            r.options = Some(pb::SendOptions {
                regions: strings(v),
                ..Default::default()
            })
        }
        s if s.starts_with("audience.tag_filter.") => {
            r.audience = Some(pb::Audience {
                selection: Some(pb::audience::Selection::TagFilter(tag_filter(s, v))),
            })
        }
        "audience.recipients.psids" => {
            r.audience = Some(pb::Audience {
                selection: Some(pb::audience::Selection::Recipients(pb::RecipientList {
                    psids: strings(v),
                })),
            })
        }
        "topic_key" => r.topic_key = text(v),
        "request_id" => r.request_id = text(v),
        other => panic!("validation case sets an unknown SendNotification field {other}"),
    }
    if set.starts_with("content.button_template") {
        r.content = Some(pb::Content {
            body: Some(pb::content::Body::ButtonTemplate(template)),
        });
    }
    r
}

fn opt_in(set: &str, v: &Value) -> pb::RequestOptInRequest {
    let text = v.as_str().unwrap_or_default().to_string();
    let mut r = pb::RequestOptInRequest {
        request_id: "case-1".into(),
        page_id: "case-page".into(),
        psid: "case-psid".into(),
        topic_key: "back-in-stock:sku-1".into(),
        title: "Tell me when it is back".into(),
        ..Default::default()
    };
    match set {
        "title" => r.title = text,
        "payload" => r.payload = text,
        "psid" => r.psid = text,
        "page_id" => r.page_id = text,
        "topic_key" => r.topic_key = text,
        "request_id" => r.request_id = text,
        other => panic!("validation case sets an unknown RequestOptIn field {other}"),
    }
    r
}

/// Every case of the file.
pub fn all() -> Vec<Case> {
    let file: Value = serde_json::from_str(CASES).expect("validation-cases.json parses");
    file["cases"]
        .as_array()
        .expect("a list of cases")
        .iter()
        .map(|c| {
            let set = c["set"].as_str().expect("set");
            let v = value(&c["value"]);
            Case {
                name: c["name"].as_str().expect("name").to_string(),
                request: match c["rpc"].as_str() {
                    Some("SendNotification") => Request::Send(send(set, &v)),
                    Some("RequestOptIn") => Request::OptIn(opt_in(set, &v)),
                    Some("ListEligible") => Request::ListEligible(list_eligible(set, &v)),
                    other => panic!("unknown rpc {other:?}"),
                },
                violations: violations(&c["violations"]),
            }
        })
        .collect()
}
