//! What a grant allows to be sent: one text, or one button template, validated when built.

use otn::limits::{BUTTON_TITLE_MAX_CHARS, BUTTONS_MAX, POSTBACK_PAYLOAD_MAX_CHARS};
use otn::limits::{TEMPLATE_TEXT_MAX_CHARS, TEXT_MAX_CHARS};
use otn::rules;

use crate::error::FieldViolation;

/// A button's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ButtonAction {
    /// Opens an http(s) URL.
    WebUrl(String),
    /// Sends this payload back to the page.
    Postback(String),
}

/// One button of a button template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Button {
    title: String,
    action: ButtonAction,
}

impl Button {
    /// A web_url button; `field` is the button's path.
    pub(crate) fn web_url(field: &str, title: &str, url: &str) -> Result<Self, FieldViolation> {
        rules::web_url(&format!("{field}.web_url"), url)?;
        Self::new(field, title, ButtonAction::WebUrl(url.to_string()))
    }

    /// A postback button; `field` is the button's path.
    pub(crate) fn postback(
        field: &str,
        title: &str,
        payload: &str,
    ) -> Result<Self, FieldViolation> {
        rules::text(
            &format!("{field}.postback_payload"),
            payload,
            1,
            POSTBACK_PAYLOAD_MAX_CHARS,
        )?;
        Self::new(field, title, ButtonAction::Postback(payload.to_string()))
    }

    fn new(field: &str, title: &str, action: ButtonAction) -> Result<Self, FieldViolation> {
        rules::text(&format!("{field}.title"), title, 1, BUTTON_TITLE_MAX_CHARS)?;
        Ok(Self {
            title: title.to_string(),
            action,
        })
    }

    /// The label.
    pub(crate) fn title(&self) -> &str {
        &self.title
    }

    /// What it does.
    pub(crate) fn action(&self) -> &ButtonAction {
        &self.action
    }
}

/// The body of a [`Content`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// A plain text message.
    Text(String),
    /// A button template.
    Buttons { text: String, buttons: Vec<Button> },
}

/// The one message a grant allows; only a valid one can be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Content(Body);

impl Content {
    /// A text message, 1 to 2000 characters.
    pub(crate) fn text(field: &str, text: &str) -> Result<Self, FieldViolation> {
        rules::text(field, text, 1, TEXT_MAX_CHARS)?;
        Ok(Self(Body::Text(text.to_string())))
    }

    /// A button template: text of 1 to 640 characters, 1 to 3 buttons.
    pub(crate) fn buttons(
        field: &str,
        text: &str,
        buttons: Vec<Button>,
    ) -> Result<Self, FieldViolation> {
        rules::text(&format!("{field}.text"), text, 1, TEMPLATE_TEXT_MAX_CHARS)?;
        if buttons.is_empty() || buttons.len() > BUTTONS_MAX {
            return Err(FieldViolation::new(
                format!("{field}.buttons"),
                format!("must hold 1 to {BUTTONS_MAX} buttons"),
            ));
        }
        Ok(Self(Body::Buttons {
            text: text.to_string(),
            buttons,
        }))
    }

    /// The message.
    pub(crate) fn body(&self) -> &Body {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_button_template_holds_one_to_three_buttons() {
        let b = |i: usize| Button::postback(&format!("b[{i}]"), "Yes", "yes").unwrap();
        assert!(Content::buttons("c", "Pick", vec![]).is_err());
        assert!(Content::buttons("c", "Pick", (0..3).map(b).collect()).is_ok());
        let err = Content::buttons("c", "Pick", (0..4).map(b).collect()).unwrap_err();
        assert_eq!(err.field, "c.buttons");
    }

    #[test]
    fn button_titles_and_urls_are_checked() {
        assert!(Button::web_url("b", &"t".repeat(20), "https://shop.example").is_ok());
        assert_eq!(
            Button::web_url("b", &"t".repeat(21), "https://shop.example")
                .unwrap_err()
                .field,
            "b.title"
        );
        assert_eq!(
            Button::web_url("b", "Buy", "https:///x").unwrap_err().field,
            "b.web_url"
        );
    }
}
