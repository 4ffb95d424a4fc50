//! RequestOptIn: asks a person, inside their 24-hour window, for consent on a topic.

use otn::v1 as pb;

use crate::client::{Client, new_request_id};
use crate::error::Error;
use crate::retry::Safety;

/// A consent request being put together; [`OptInBuilder::send`] validates and sends it.
#[derive(Debug, Clone)]
#[must_use = "an OptInBuilder does nothing until .send() is awaited"]
pub struct OptInBuilder {
    client: Client,
    req: pb::RequestOptInRequest,
}

impl Client {
    /// Asks `psid` for consent on `topic_key` with a `title` (1 to 65 characters) shown on the
    /// request. Idempotent on its request id (a UUID v4 unless given), kept across retries.
    pub fn request_opt_in(
        &self,
        page_id: impl Into<String>,
        psid: impl Into<String>,
        topic_key: impl Into<String>,
        title: impl Into<String>,
    ) -> OptInBuilder {
        OptInBuilder {
            client: self.clone(),
            req: pb::RequestOptInRequest {
                page_id: page_id.into(),
                psid: psid.into(),
                topic_key: topic_key.into(),
                title: title.into(),
                ..Default::default()
            },
        }
    }
}

impl OptInBuilder {
    /// A payload kept with the resulting grant (at most 1000 characters).
    pub fn payload(mut self, payload: impl Into<String>) -> Self {
        self.req.payload = payload.into();
        self
    }

    /// The idempotency key (default: a new UUID v4).
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.req.request_id = id.into();
        self
    }

    /// The request as it would be sent, validated, with its request id filled in.
    pub fn build(&self) -> Result<pb::RequestOptInRequest, Error> {
        let mut req = self.req.clone();
        if req.request_id.is_empty() {
            req.request_id = new_request_id();
        }
        crate::validate::opt_in_request(&req)?;
        Ok(req)
    }

    /// Validates and sends; retried (with the same request id) when that is safe.
    pub async fn send(self) -> Result<pb::RequestOptInResponse, Error> {
        let req = self.build()?;
        self.client
            .call(Safety::Idempotent, req, |mut c, r| async move {
                c.request_opt_in(r).await
            })
            .await
    }
}
