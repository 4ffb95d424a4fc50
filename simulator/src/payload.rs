//! Parsing and validating Send API request bodies the way Meta does (code 100 on anything malformed).

use serde_json::{Map, Value};

use super::errors::GraphError;

/// Who a send addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Recipient {
    /// `recipient.id`: a PSID, subject to the 24-hour window.
    Id(String),
    /// `recipient.one_time_notif_token`.
    Otn(String),
    /// `recipient.notification_messages_token`.
    Marketing(String),
}

/// What the `message` object is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Content {
    /// `{"text": ..}`.
    Text,
    /// A `button` template.
    Button,
    /// A `one_time_notif_req` template.
    OtnRequest { title: String, payload: String },
    /// A `notification_messages` template.
    MarketingRequest {
        title: String,
        payload: String,
        /// The whole template payload, as sent.
        template: Value,
    },
}

/// A validated send request.
#[derive(Debug, Clone)]
pub(super) struct SendRequest {
    pub recipient: Recipient,
    pub messaging_type: Option<String>,
    pub tag: Option<String>,
    pub content: Content,
    pub message: Value,
}

/// `messaging_type` values the simulator accepts.
const MESSAGING_TYPES: [&str; 3] = ["RESPONSE", "UPDATE", "MESSAGE_TAG"];
/// Allowed values of `notification_messages_cta_text`.
const CTA_TEXTS: [&str; 5] = ["ALLOW", "GET", "GET_UPDATES", "OPT_IN", "SIGN_UP"];

/// Parses and validates a Send API body.
pub(super) fn parse(body: &[u8]) -> Result<SendRequest, GraphError> {
    let mut root: Value =
        serde_json::from_slice(body).map_err(|_| GraphError::invalid("Invalid JSON body"))?;
    let obj = root
        .as_object_mut()
        .ok_or_else(|| GraphError::invalid("Body must be a JSON object"))?;
    let recipient = parse_recipient(obj.get("recipient"))?;
    check_enum(obj, "messaging_type", &MESSAGING_TYPES)?;
    let messaging_type = opt_str(obj, "messaging_type")?;
    let tag = opt_str(obj, "tag")?;
    check_enum(
        obj,
        "notification_type",
        &["REGULAR", "SILENT_PUSH", "NO_PUSH"],
    )?;
    let message = obj
        .remove("message")
        .ok_or_else(|| GraphError::invalid("param message must be non-empty."))?;
    let content = parse_message(&message)?;
    Ok(SendRequest {
        recipient,
        messaging_type,
        tag,
        content,
        message,
    })
}

fn parse_recipient(v: Option<&Value>) -> Result<Recipient, GraphError> {
    let r = v
        .and_then(Value::as_object)
        .ok_or_else(|| GraphError::invalid("param recipient must be non-empty."))?;
    if r.len() != 1 {
        return Err(GraphError::invalid(
            "recipient must have exactly one of id, one_time_notif_token, notification_messages_token",
        ));
    }
    let (key, value) = r
        .iter()
        .next()
        .ok_or_else(|| GraphError::invalid("param recipient must be non-empty."))?;
    let value = match value {
        Value::String(s) if !s.is_empty() => s.clone(),
        // Meta accepts numeric PSIDs too.
        Value::Number(n) if key == "id" => n.to_string(),
        _ => return Err(GraphError::invalid(format!("Invalid recipient.{key}"))),
    };
    match key.as_str() {
        "id" => Ok(Recipient::Id(value)),
        "one_time_notif_token" => Ok(Recipient::Otn(value)),
        "notification_messages_token" => Ok(Recipient::Marketing(value)),
        other => Err(GraphError::invalid(format!(
            "Unsupported recipient field {other}"
        ))),
    }
}

fn opt_str(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, GraphError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(GraphError::invalid(format!("param {key} must be a string"))),
    }
}

/// Refuses `key` when present with a value outside `allowed`.
fn check_enum(obj: &Map<String, Value>, key: &str, allowed: &[&str]) -> Result<(), GraphError> {
    match opt_str(obj, key)? {
        Some(v) if !allowed.contains(&v.as_str()) => {
            Err(GraphError::invalid(format!("Invalid {key} {v}")))
        }
        _ => Ok(()),
    }
}

fn req_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a str, GraphError> {
    obj.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::invalid(format!("param {key} must be a string")))
}

fn check_len(what: &str, s: &str, min: usize, max: usize) -> Result<(), GraphError> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(GraphError::invalid(format!(
            "{what} must be {min} to {max} characters, got {n}"
        )));
    }
    Ok(())
}

fn check_keys(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), GraphError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(GraphError::invalid(format!("Unexpected field {what}.{k}"))),
        None => Ok(()),
    }
}

fn parse_message(message: &Value) -> Result<Content, GraphError> {
    let m = message
        .as_object()
        .ok_or_else(|| GraphError::invalid("param message must be an object"))?;
    check_keys(
        m,
        &["text", "attachment", "metadata", "quick_replies"],
        "message",
    )?;
    if let Some(meta) = m.get("metadata") {
        let meta = meta
            .as_str()
            .ok_or_else(|| GraphError::invalid("message.metadata must be a string"))?;
        check_len("message.metadata", meta, 0, 999)?;
    }
    if let Some(q) = m.get("quick_replies") {
        match q.as_array() {
            Some(a) if !a.is_empty() && a.len() <= 13 => {}
            _ => {
                return Err(GraphError::invalid(
                    "message.quick_replies must hold 1 to 13 items",
                ));
            }
        }
    }
    match (m.get("text"), m.get("attachment")) {
        (Some(t), None) => {
            let t = t
                .as_str()
                .ok_or_else(|| GraphError::invalid("message.text must be a string"))?;
            check_len("message.text", t, 1, 2000)?;
            Ok(Content::Text)
        }
        (None, Some(a)) => parse_attachment(a),
        _ => Err(GraphError::invalid(
            "message must have exactly one of text or attachment",
        )),
    }
}

fn parse_attachment(a: &Value) -> Result<Content, GraphError> {
    let a = a
        .as_object()
        .ok_or_else(|| GraphError::invalid("message.attachment must be an object"))?;
    if req_str(a, "type")? != "template" {
        return Err(GraphError::invalid(
            "only template attachments are supported by the simulator",
        ));
    }
    let p = a
        .get("payload")
        .and_then(Value::as_object)
        .ok_or_else(|| GraphError::invalid("attachment.payload must be an object"))?;
    match req_str(p, "template_type")? {
        "one_time_notif_req" => {
            check_keys(p, &["template_type", "title", "payload"], "payload")?;
            let title = req_str(p, "title")?;
            check_len("title", title, 1, 65)?;
            let payload = req_str(p, "payload")?;
            Ok(Content::OtnRequest {
                title: title.to_owned(),
                payload: payload.to_owned(),
            })
        }
        "notification_messages" => parse_marketing_request(p),
        "button" => parse_button(p),
        other => Err(GraphError::invalid(format!(
            "template_type {other} is not supported by the simulator"
        ))),
    }
}

fn parse_marketing_request(p: &Map<String, Value>) -> Result<Content, GraphError> {
    check_keys(
        p,
        &[
            "template_type",
            "title",
            "payload",
            "image_url",
            "image_aspect_ratio",
            "notification_messages_cta_text",
            "notification_messages_timezone",
            "notification_messages_reoptin",
            "notification_messages_frequency",
        ],
        "payload",
    )?;
    let title = req_str(p, "title")?;
    check_len("title", title, 1, 65)?;
    let payload = req_str(p, "payload")?;
    check_enum(p, "image_aspect_ratio", &["HORIZONTAL", "SQUARE"])?;
    check_enum(p, "notification_messages_cta_text", &CTA_TEXTS)?;
    check_enum(p, "notification_messages_reoptin", &["ENABLED", "DISABLED"])?;
    opt_str(p, "image_url")?;
    opt_str(p, "notification_messages_timezone")?;
    Ok(Content::MarketingRequest {
        title: title.to_owned(),
        payload: payload.to_owned(),
        template: Value::Object(p.clone()),
    })
}

fn parse_button(p: &Map<String, Value>) -> Result<Content, GraphError> {
    check_keys(p, &["template_type", "text", "buttons"], "payload")?;
    check_len("payload.text", req_str(p, "text")?, 1, 640)?;
    let buttons = p
        .get("buttons")
        .and_then(Value::as_array)
        .ok_or_else(|| GraphError::invalid("payload.buttons must be an array"))?;
    if buttons.is_empty() || buttons.len() > 3 {
        return Err(GraphError::invalid(
            "payload.buttons must hold 1 to 3 buttons",
        ));
    }
    for b in buttons {
        let b = b
            .as_object()
            .ok_or_else(|| GraphError::invalid("a button must be an object"))?;
        check_len("button.title", req_str(b, "title")?, 1, 20)?;
        match req_str(b, "type")? {
            "web_url" => {
                let url = req_str(b, "url")?;
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(GraphError::invalid("button.url must be an http(s) URL"));
                }
            }
            "postback" => {
                check_len("button.payload", req_str(b, "payload")?, 1, 1000)?;
            }
            other => {
                return Err(GraphError::invalid(format!(
                    "button type {other} is not allowed"
                )));
            }
        }
    }
    Ok(Content::Button)
}
