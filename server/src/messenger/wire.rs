//! Every JSON body the service sends to Meta, built from typed values: the message of a
//! notification, the Send API body of a delivery, and the opt-in request templates.

use serde_json::{Value, json};

use crate::domain::content::{Body, ButtonAction, Content};
use crate::domain::outcome::Claimed;
use crate::domain::vocab::{DeliveryPath, GrantKind, MessageTag};

/// Meta's `message` object for the content of a notification.
pub(crate) fn message(content: &Content) -> Value {
    match content.body() {
        Body::Text(text) => json!({ "text": text }),
        Body::Buttons { text, buttons } => {
            let buttons: Vec<Value> = buttons
                .iter()
                .map(|b| match b.action() {
                    ButtonAction::WebUrl(url) => {
                        json!({ "type": "web_url", "title": b.title(), "url": url })
                    }
                    ButtonAction::Postback(p) => {
                        json!({ "type": "postback", "title": b.title(), "payload": p })
                    }
                })
                .collect();
            json!({ "attachment": { "type": "template", "payload": {
                "template_type": "button", "text": text, "buttons": buttons } } })
        }
    }
}

/// What starts otn's `message.metadata`.
const METADATA_PREFIX: &str = "otn:";

/// The correlation id put in `message.metadata` (echoed by Meta in `message_echoes`).
pub(crate) fn metadata(delivery_id: i64) -> String {
    format!("{METADATA_PREFIX}{delivery_id}")
}

/// The delivery a `message.metadata` names, when it is otn's (`None`: another sender's, or
/// not one otn writes).
pub(crate) fn delivery_of_metadata(metadata: &str) -> Option<i64> {
    let id = metadata.strip_prefix(METADATA_PREFIX)?;
    match id.bytes().all(|b| b.is_ascii_digit()) {
        true => id.parse().ok().filter(|id| *id > 0),
        false => None,
    }
}

/// The `recipient` field of a One-Time Notification token.
pub(crate) const ONE_TIME_TOKEN_FIELD: &str = "one_time_notif_token";
/// The `recipient` field of a Marketing Messages token.
pub(crate) const MARKETING_TOKEN_FIELD: &str = "notification_messages_token";

/// The `recipient` field a grant of `kind` is sent with (Meta's refusals of a token name it).
pub(crate) fn token_field(kind: GrantKind) -> &'static str {
    match kind {
        GrantKind::MarketingMessages => MARKETING_TOKEN_FIELD,
        GrantKind::OneTimeNotification | GrantKind::MarketingSubscription => ONE_TIME_TOKEN_FIELD,
    }
}

/// Why a delivery cannot be sent as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unsendable {
    /// A grant send whose grant (or token) is gone.
    GrantMissing,
    /// The stored message is not JSON.
    MessageUnreadable,
    /// A tag send without a tag.
    TagMissing,
}

/// The Send API body of one claimed delivery: the token in `recipient` for a grant send (no
/// `messaging_type`, no tag), the PSID with `UPDATE` inside the window, the PSID with
/// `MESSAGE_TAG` and the tag outside it.
pub(crate) fn send_body(c: &Claimed) -> Result<Value, Unsendable> {
    let mut message: Value =
        serde_json::from_str(&c.message).map_err(|_| Unsendable::MessageUnreadable)?;
    if let Some(m) = message.as_object_mut() {
        m.insert("metadata".into(), json!(metadata(c.id)));
    }
    let psid = json!({ "id": c.psid });
    let (recipient, messaging_type, tag) = match c.path {
        DeliveryPath::Grant => {
            let g = c.grant.as_ref().ok_or(Unsendable::GrantMissing)?;
            let token = g.token.as_ref().ok_or(Unsendable::GrantMissing)?;
            (json!({ token_field(g.kind): token.expose() }), None, None)
        }
        DeliveryPath::Window => (psid, Some("UPDATE"), None),
        DeliveryPath::Tag => {
            let tag = c.message_tag.ok_or(Unsendable::TagMissing)?;
            (psid, Some("MESSAGE_TAG"), Some(tag))
        }
    };
    let mut body = json!({ "recipient": recipient, "message": message });
    if let Some(t) = messaging_type {
        body["messaging_type"] = json!(t);
    }
    if let Some(t) = tag {
        body["tag"] = json!(MessageTag::as_str(t));
    }
    Ok(body)
}

/// The `one_time_notif_req` template that asks a person for a One-Time Notification token.
pub(crate) fn one_time_notif_req(psid: &str, title: &str, payload: &str) -> Value {
    json!({
        "recipient": { "id": psid },
        "messaging_type": "RESPONSE",
        "message": { "attachment": { "type": "template", "payload": {
            "template_type": "one_time_notif_req",
            "title": title,
            "payload": payload,
        } } }
    })
}

/// The optional fields of a `notification_messages` template, as Meta names their values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MarketingFields {
    pub(crate) image_url: Option<String>,
    /// `HORIZONTAL` or `SQUARE`.
    pub(crate) image_aspect_ratio: Option<&'static str>,
    /// `ALLOW`, `GET`, `GET_UPDATES`, `OPT_IN` or `SIGN_UP`.
    pub(crate) cta_text: Option<&'static str>,
    pub(crate) timezone: Option<String>,
    pub(crate) reoptin: bool,
}

/// The `notification_messages` template that asks a person for a Marketing Messages token.
pub(crate) fn notification_messages(
    psid: &str,
    title: &str,
    payload: &str,
    f: &MarketingFields,
) -> Value {
    let mut p = json!({
        "template_type": "notification_messages",
        "title": title,
        "payload": payload,
    });
    let set = |p: &mut Value, k: &str, v: Option<&str>| {
        if let Some(v) = v {
            p[k] = json!(v);
        }
    };
    set(&mut p, "image_url", f.image_url.as_deref());
    set(&mut p, "image_aspect_ratio", f.image_aspect_ratio);
    set(&mut p, "notification_messages_cta_text", f.cta_text);
    set(
        &mut p,
        "notification_messages_timezone",
        f.timezone.as_deref(),
    );
    if f.reoptin {
        p["notification_messages_reoptin"] = json!("ENABLED");
    }
    json!({
        "recipient": { "id": psid },
        "messaging_type": "RESPONSE",
        "message": { "attachment": { "type": "template", "payload": p } }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::content::Button;
    use crate::domain::outcome::ClaimedGrant;
    use crate::domain::values::Token;

    fn claimed(path: DeliveryPath) -> Claimed {
        Claimed {
            id: 7,
            recipient_id: 1,
            notification_id: "n".into(),
            page_id: "p".into(),
            psid: "u1".into(),
            topic_key: "t".into(),
            grant: (path == DeliveryPath::Grant).then(|| ClaimedGrant {
                id: 3,
                kind: GrantKind::OneTimeNotification,
                token: Some(Token::parse("t", "tok-1").unwrap()),
            }),
            path,
            rule: "r".into(),
            message_tag: (path == DeliveryPath::Tag).then_some(MessageTag::AccountUpdate),
            attempts: 1,
            ambiguous: false,
            message: message(&Content::text("c", "Back in stock").unwrap()).to_string(),
            actor: "k".into(),
            due_ms: 0,
            trace_parent: None,
        }
    }

    #[test]
    fn a_grant_send_carries_the_token_and_no_messaging_type_or_tag() {
        let b = send_body(&claimed(DeliveryPath::Grant)).unwrap();
        assert_eq!(b["recipient"], json!({ "one_time_notif_token": "tok-1" }));
        assert!(b.get("messaging_type").is_none() && b.get("tag").is_none());
        assert_eq!(b["message"]["metadata"], "otn:7");
    }

    #[test]
    fn the_metadata_names_its_delivery_and_nothing_else_reads_as_otns() {
        assert_eq!(delivery_of_metadata(&metadata(42)), Some(42));
        for other in [
            "", "otn:", "otn:-3", "otn:0", "otn:4x", "otn: 4", "shop:42", "OTN:42",
        ] {
            assert_eq!(delivery_of_metadata(other), None, "{other:?}");
        }
    }

    #[test]
    fn window_and_tag_sends_name_the_person_and_their_messaging_type() {
        let w = send_body(&claimed(DeliveryPath::Window)).unwrap();
        assert_eq!(w["messaging_type"], "UPDATE");
        let t = send_body(&claimed(DeliveryPath::Tag)).unwrap();
        assert_eq!(
            (t["messaging_type"].as_str(), t["tag"].as_str()),
            (Some("MESSAGE_TAG"), Some("ACCOUNT_UPDATE"))
        );
        assert_eq!(t["recipient"], json!({ "id": "u1" }));
    }

    #[test]
    fn a_button_template_is_rendered_as_meta_documents_it() {
        let c = Content::buttons(
            "c",
            "Back!",
            vec![
                Button::web_url("b0", "Buy", "https://shop.example/1").unwrap(),
                Button::postback("b1", "Later", "later").unwrap(),
            ],
        )
        .unwrap();
        let m = message(&c);
        let p = &m["attachment"]["payload"];
        assert_eq!(p["template_type"], "button");
        assert_eq!(
            p["buttons"][0],
            json!({"type": "web_url", "title": "Buy", "url": "https://shop.example/1"})
        );
        assert_eq!(p["buttons"][1]["payload"], "later");
    }

    #[test]
    fn the_marketing_opt_in_names_only_the_fields_given() {
        let b = notification_messages(
            "u1",
            "Deals",
            "otn1:x",
            &MarketingFields {
                cta_text: Some("GET_UPDATES"),
                reoptin: true,
                ..Default::default()
            },
        );
        let p = &b["message"]["attachment"]["payload"];
        assert_eq!(p["template_type"], "notification_messages");
        assert_eq!(p["notification_messages_cta_text"], "GET_UPDATES");
        assert_eq!(p["notification_messages_reoptin"], "ENABLED");
        assert!(p.get("image_url").is_none());
    }
}
