//! What a send is: validated content (one text or one button template), audience and options,
//! and the Send API message each delivery carries.

use serde_json::{Value, json};

use super::grant::TagFilter;
use super::types::{PageId, Psid, Region, RequestId, Title, TopicKey};

/// A button's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ButtonAction {
    WebUrl(String),
    Postback(String),
}

/// One button of a button template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub title: String,
    pub action: ButtonAction,
}

/// The one message a grant allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text(String),
    Buttons { text: String, buttons: Vec<Button> },
}

impl Content {
    /// Meta's `message` object.
    pub fn message(&self) -> Value {
        match self {
            Content::Text(text) => json!({ "text": text }),
            Content::Buttons { text, buttons } => {
                let buttons: Vec<Value> = buttons
                    .iter()
                    .map(|b| match &b.action {
                        ButtonAction::WebUrl(url) => {
                            json!({ "type": "web_url", "title": b.title, "url": url })
                        }
                        ButtonAction::Postback(p) => {
                            json!({ "type": "postback", "title": b.title, "payload": p })
                        }
                    })
                    .collect();
                json!({ "attachment": { "type": "template", "payload": {
                    "template_type": "button", "text": text, "buttons": buttons } } })
            }
        }
    }
}

/// Who a send goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    AllEligible,
    Tags(TagFilter),
    Psids(Vec<Psid>),
}

/// How a send is made.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SendOptions {
    pub max_recipients: Option<u32>,
    pub include_window_recipients: bool,
    pub dry_run: bool,
    pub scheduled_ms: Option<i64>,
    pub rolling_title: Option<Title>,
    pub regions: Vec<Region>,
    pub message_tag: Option<String>,
}

/// A validated SendNotification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendInput {
    pub request_id: RequestId,
    /// A digest of the whole request (without request_id): the same id with another body is
    /// refused.
    pub request_hash: String,
    pub page_id: PageId,
    pub topic_key: TopicKey,
    pub audience: Audience,
    pub content: Content,
    pub options: SendOptions,
}

/// Message tags a send may name; the policy decides which are still accepted on a date.
pub const KNOWN_TAGS: &[&str] = &[
    "CONFIRMED_EVENT_UPDATE",
    "POST_PURCHASE_UPDATE",
    "ACCOUNT_UPDATE",
    "HUMAN_AGENT",
];

/// The Send API body of one delivery. `metadata` carries the delivery id (echoed by Meta).
pub fn send_body(
    recipient: Value,
    messaging_type: Option<&str>,
    tag: Option<&str>,
    message: &Value,
    delivery_id: i64,
) -> Value {
    let mut message = message.clone();
    if let Some(m) = message.as_object_mut() {
        m.insert("metadata".into(), json!(format!("otn:{delivery_id}")));
    }
    let mut body = json!({ "recipient": recipient, "message": message });
    if let Some(t) = messaging_type {
        body["messaging_type"] = json!(t);
    }
    if let Some(t) = tag {
        body["tag"] = json!(t);
    }
    body
}
