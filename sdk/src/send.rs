//! Builders for sending notifications: topic helpers, content, audience and options, validated before sending.

use otn::prost_types::Timestamp;
use otn::v1 as pb;

use crate::client::Client;
use crate::error::Error;

/// The topic key of "notify me when it is back in stock" for a SKU: `back-in-stock:<sku>`.
pub fn back_in_stock_topic(sku: &str) -> String {
    format!("back-in-stock:{sku}")
}

/// The topic key of "tell me when the price drops" for a SKU: `price-drop:<sku>`.
pub fn price_drop_topic(sku: &str) -> String {
    format!("price-drop:{sku}")
}

/// One button of a button template.
#[derive(Debug, Clone, PartialEq)]
pub struct Button(pub pb::Button);

impl Button {
    /// A button that opens an http(s) URL.
    pub fn url(title: impl Into<String>, url: impl Into<String>) -> Self {
        Self(pb::Button {
            title: title.into(),
            action: Some(pb::button::Action::WebUrl(url.into())),
        })
    }

    /// A button that sends `payload` back to the page as a postback.
    pub fn postback(title: impl Into<String>, payload: impl Into<String>) -> Self {
        Self(pb::Button {
            title: title.into(),
            action: Some(pb::button::Action::PostbackPayload(payload.into())),
        })
    }
}

impl From<Button> for pb::Button {
    fn from(b: Button) -> Self {
        b.0
    }
}

/// A notification being put together; [`SendBuilder::send`] validates and sends it.
#[derive(Debug, Clone)]
#[must_use = "a SendBuilder does nothing until .send() is awaited"]
pub struct SendBuilder {
    client: Client,
    req: pb::SendNotificationRequest,
    tags: pb::TagFilter,
    psids: Option<Vec<String>>,
}

fn strings<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

impl Client {
    /// A notification on any topic of a page.
    pub fn notify(&self, page_id: impl Into<String>, topic_key: impl Into<String>) -> SendBuilder {
        SendBuilder {
            client: self.clone(),
            req: pb::SendNotificationRequest {
                page_id: page_id.into(),
                topic_key: topic_key.into(),
                options: Some(pb::SendOptions::default()),
                ..Default::default()
            },
            tags: pb::TagFilter::default(),
            psids: None,
        }
    }

    /// A "back in stock" notification: topic `back-in-stock:<sku>`.
    pub fn back_in_stock(&self, page_id: impl Into<String>, sku: &str) -> SendBuilder {
        self.notify(page_id, back_in_stock_topic(sku))
    }

    /// A "price drop" notification: topic `price-drop:<sku>`.
    pub fn price_drop(&self, page_id: impl Into<String>, sku: &str) -> SendBuilder {
        self.notify(page_id, price_drop_topic(sku))
    }
}

impl SendBuilder {
    fn options(&mut self) -> &mut pb::SendOptions {
        self.req.options.get_or_insert_with(Default::default)
    }

    /// A plain text message (1 to 2000 characters).
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.req.content = Some(pb::Content {
            body: Some(pb::content::Body::Text(text.into())),
        });
        self
    }

    /// A button template: a text (1 to 640 characters) with 1 to 3 buttons.
    pub fn button_template(
        mut self,
        text: impl Into<String>,
        buttons: impl IntoIterator<Item = Button>,
    ) -> Self {
        self.req.content = Some(pb::Content {
            body: Some(pb::content::Body::ButtonTemplate(pb::ButtonTemplate {
                text: text.into(),
                buttons: buttons.into_iter().map(Into::into).collect(),
            })),
        });
        self
    }

    /// At most this many recipients, oldest opt-in first.
    pub fn max_recipients(mut self, n: u32) -> Self {
        self.options().max_recipients = i32::try_from(n).unwrap_or(i32::MAX);
        self
    }

    /// Also send, spending no grant, to people inside their 24-hour window.
    pub fn include_window_recipients(mut self) -> Self {
        self.options().include_window_recipients = true;
        self
    }

    /// Only people who carry every one of these tags.
    pub fn tags_all_of<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.tags.all_of.extend(strings(tags));
        self
    }

    /// Only people who carry at least one of these tags.
    pub fn tags_any_of<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.tags.any_of.extend(strings(tags));
        self
    }

    /// Only people who carry none of these tags.
    pub fn tags_none_of<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.tags.none_of.extend(strings(tags));
        self
    }

    /// Only these people (PSIDs), if eligible. Cannot be combined with a tag filter.
    pub fn recipients<I: IntoIterator<Item = S>, S: Into<String>>(mut self, psids: I) -> Self {
        self.psids
            .get_or_insert_with(Vec::new)
            .extend(strings(psids));
        self
    }

    /// Only people in these regions (ISO 3166-1 alpha-2).
    pub fn regions<I: IntoIterator<Item = S>, S: Into<String>>(mut self, regions: I) -> Self {
        self.options().regions.extend(strings(regions));
        self
    }

    /// Reach people outside the window without a grant with this message tag.
    pub fn message_tag(mut self, tag: impl Into<String>) -> Self {
        self.options().message_tag = tag.into();
        self
    }

    /// When a person engages with the notification, ask them again at once with this title.
    pub fn rolling_consent(mut self, title: impl Into<String>) -> Self {
        self.options().rolling_consent = Some(pb::RollingConsent {
            title: title.into(),
        });
        self
    }

    /// Plan only: the answer carries the counts per path and per exclusion; nothing is sent.
    pub fn dry_run(mut self) -> Self {
        self.options().dry_run = true;
        self
    }

    /// Send at this time instead of now (a `SystemTime` or a protobuf `Timestamp`).
    pub fn schedule_at(mut self, at: impl Into<Timestamp>) -> Self {
        self.options().scheduled_time = Some(at.into());
        self
    }

    /// The idempotency key; by default a new UUID v4 (the same one on every retry).
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.req.request_id = id.into();
        self
    }

    /// The request as it would be sent, validated (a request id is filled in if none was
    /// given).
    pub fn build(&self) -> Result<pb::SendNotificationRequest, Error> {
        let mut req = self.req.clone();
        let has_tags = !(self.tags.all_of.is_empty()
            && self.tags.any_of.is_empty()
            && self.tags.none_of.is_empty());
        req.audience = match (&self.psids, has_tags) {
            (Some(_), true) => {
                return Err(Error::invalid(
                    "audience",
                    "choose a tag filter or a recipient list, not both",
                ));
            }
            (Some(psids), false) => Some(pb::Audience {
                selection: Some(pb::audience::Selection::Recipients(pb::RecipientList {
                    psids: psids.clone(),
                })),
            }),
            (None, true) => Some(pb::Audience {
                selection: Some(pb::audience::Selection::TagFilter(self.tags.clone())),
            }),
            (None, false) => None,
        };
        if req.request_id.is_empty() {
            req.request_id = crate::client::new_request_id();
        }
        crate::validate::send_request(&req)?;
        Ok(req)
    }

    /// Validates and sends. Returns once the server has durably stored the notification (or,
    /// for a dry run, with its plan); follow it with [`Client::follow_notification`].
    pub async fn send(self) -> Result<pb::SendNotificationResponse, Error> {
        let req = self.build()?;
        self.client.send_notification(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn client() -> Client {
        Client::builder("http://127.0.0.1:9")
            .connect_lazy()
            .unwrap()
    }

    #[tokio::test]
    async fn back_in_stock_builds_the_request_it_says() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let req = client()
            .back_in_stock("page-1", "sku-123")
            .max_recipients(40)
            .text("Back in stock!")
            .tags_all_of(["vip"])
            .regions(["DE"])
            .dry_run()
            .schedule_at(at)
            .build()
            .unwrap();
        assert_eq!(req.topic_key, "back-in-stock:sku-123");
        assert_eq!(req.page_id, "page-1");
        let o = req.options.unwrap();
        assert_eq!(o.max_recipients, 40);
        assert!(o.dry_run);
        assert_eq!(o.scheduled_time.unwrap().seconds, 1_800_000_000);
        assert_eq!(o.regions, ["DE"]);
        match req.audience.unwrap().selection.unwrap() {
            pb::audience::Selection::TagFilter(f) => assert_eq!(f.all_of, ["vip"]),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            uuid::Uuid::parse_str(&req.request_id)
                .unwrap()
                .get_version_num(),
            4
        );
    }

    #[tokio::test]
    async fn a_given_request_id_is_kept_and_each_build_otherwise_gets_a_new_one() {
        let b = client().price_drop("p", "sku-9").text("cheaper");
        assert_eq!(b.build().unwrap().topic_key, "price-drop:sku-9");
        assert_ne!(b.build().unwrap().request_id, b.build().unwrap().request_id);
        let b = b.request_id("mine-1");
        assert_eq!(b.build().unwrap().request_id, "mine-1");
    }

    #[tokio::test]
    async fn bad_content_fails_before_anything_is_sent() {
        let e = client()
            .back_in_stock("p", "sku-1")
            .button_template(
                "Back!",
                [
                    Button::url("Buy", "https://shop.example/1"),
                    Button::url("Way too long a button title", "ftp://x"),
                    Button::postback("Later", "LATER"),
                    Button::postback("Never", "NEVER"),
                ],
            )
            .send()
            .await
            .unwrap_err();
        assert!(e.is_local());
        let fields: Vec<_> = e
            .field_violations()
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        // Too many buttons: the list is refused, its buttons are not looked at.
        assert_eq!(fields, ["content.button_template.buttons"]);
        let e = client()
            .back_in_stock("p", "sku-1")
            .button_template(
                "Back!",
                [
                    Button::url("Buy", "https://shop.example/1"),
                    Button::url("Way too long a button title", "ftp://x"),
                ],
            )
            .send()
            .await
            .unwrap_err();
        let fields: Vec<_> = e
            .field_violations()
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(
            fields,
            [
                "content.button_template.buttons[1].title",
                "content.button_template.buttons[1].web_url",
            ]
        );
    }

    #[tokio::test]
    async fn tags_and_a_recipient_list_do_not_mix() {
        let e = client()
            .notify("p", "t")
            .text("x")
            .tags_any_of(["a"])
            .recipients(["u1"])
            .build()
            .unwrap_err();
        assert_eq!(e.field_violations()[0].field, "audience");
    }

    #[tokio::test]
    async fn content_is_required() {
        let e = client().notify("p", "t").build().unwrap_err();
        assert_eq!(e.field_violations()[0].field, "content");
    }
}
