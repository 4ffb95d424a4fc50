//! The unary RPCs of the service as Client methods, each under the retry policy.

use otn::v1 as pb;

use crate::client::{Client, new_request_id};
use crate::error::Error;
use crate::retry::Safety;

impl Client {
    /// Records a grant (normally the webhook does). Idempotent on the token.
    pub async fn record_opt_in(
        &self,
        req: pb::RecordOptInRequest,
    ) -> Result<pb::RecordOptInResponse, Error> {
        self.call(Safety::Other, req, |mut c, r| async move {
            c.record_opt_in(r).await
        })
        .await
    }

    /// One page of the people who can be sent a message on a topic now.
    pub async fn list_eligible(
        &self,
        req: pb::ListEligibleRequest,
    ) -> Result<pb::ListEligibleResponse, Error> {
        crate::validate::list_eligible_request(&req)?;
        self.call(Safety::Idempotent, req, |mut c, r| async move {
            c.list_eligible(r).await
        })
        .await
    }

    /// Every page of ListEligible, followed from `req.page_token`, in one response (the
    /// exclusions and total are those of the first page).
    pub async fn list_all_eligible(
        &self,
        mut req: pb::ListEligibleRequest,
    ) -> Result<pb::ListEligibleResponse, Error> {
        let mut all = self.list_eligible(req.clone()).await?;
        let mut next = std::mem::take(&mut all.next_page_token);
        while !next.is_empty() {
            req.page_token = next;
            let page = self.list_eligible(req.clone()).await?;
            all.recipients.extend(page.recipients);
            next = page.next_page_token;
        }
        Ok(all)
    }

    /// Records that a person interacted with the page (opens their 24-hour window).
    pub async fn record_interaction(
        &self,
        req: pb::RecordInteractionRequest,
    ) -> Result<pb::RecordInteractionResponse, Error> {
        self.call(Safety::Other, req, |mut c, r| async move {
            c.record_interaction(r).await
        })
        .await
    }

    /// Adds or removes tags, or sets the region, of a person.
    pub async fn update_recipient(
        &self,
        req: pb::UpdateRecipientRequest,
    ) -> Result<pb::UpdateRecipientResponse, Error> {
        self.call(Safety::Other, req, |mut c, r| async move {
            c.update_recipient(r).await
        })
        .await
    }

    /// Revokes one grant (`grant_id`), or every usable grant of a person on a topic.
    pub async fn revoke_grant(
        &self,
        req: pb::RevokeGrantRequest,
    ) -> Result<pb::RevokeGrantResponse, Error> {
        self.call(Safety::Other, req, |mut c, r| async move {
            c.revoke_grant(r).await
        })
        .await
    }

    /// Erases a person (data deletion).
    pub async fn forget_recipient(
        &self,
        page_id: impl Into<String>,
        psid: impl Into<String>,
    ) -> Result<pb::ForgetRecipientResponse, Error> {
        let req = pb::ForgetRecipientRequest {
            page_id: page_id.into(),
            psid: psid.into(),
        };
        self.call(Safety::Other, req, |mut c, r| async move {
            c.forget_recipient(r).await
        })
        .await
    }

    /// Sends a notification as given, after local validation; an empty `request_id` is
    /// replaced by a new UUID v4, kept across retries. Prefer [`Client::notify`] and friends.
    pub async fn send_notification(
        &self,
        mut req: pb::SendNotificationRequest,
    ) -> Result<pb::SendNotificationResponse, Error> {
        if req.request_id.is_empty() {
            req.request_id = new_request_id();
        }
        crate::validate::send_request(&req)?;
        self.call(Safety::Idempotent, req, |mut c, r| async move {
            c.send_notification(r).await
        })
        .await
    }

    /// A notification with its delivery counts.
    pub async fn get_notification(
        &self,
        notification_id: impl Into<String>,
    ) -> Result<pb::Notification, Error> {
        let req = pb::GetNotificationRequest {
            notification_id: notification_id.into(),
        };
        let resp = self
            .call(Safety::Idempotent, req, |mut c, r| async move {
                c.get_notification(r).await
            })
            .await?;
        resp.notification
            .ok_or_else(|| Error::from(tonic::Status::internal("no notification in the answer")))
    }

    /// Cancels what has not been sent yet.
    pub async fn cancel_notification(
        &self,
        notification_id: impl Into<String>,
    ) -> Result<pb::CancelNotificationResponse, Error> {
        let req = pb::CancelNotificationRequest {
            notification_id: notification_id.into(),
        };
        self.call(Safety::Other, req, |mut c, r| async move {
            c.cancel_notification(r).await
        })
        .await
    }

    /// The consent funnel of a page's topic (`page_id` and `topic_key`) or of one notification
    /// (`notification_id`): counts and rates over a range of UTC days, and per day.
    pub async fn get_funnel(
        &self,
        req: pb::GetFunnelRequest,
    ) -> Result<pb::GetFunnelResponse, Error> {
        self.call(Safety::Idempotent, req, |mut c, r| async move {
            c.get_funnel(r).await
        })
        .await
    }

    /// Resumes a page whose circuit breaker tripped (pause reason `negative_feedback`).
    pub async fn resume_page(
        &self,
        page_id: impl Into<String>,
    ) -> Result<pb::ResumePageResponse, Error> {
        let req = pb::ResumePageRequest {
            page_id: page_id.into(),
        };
        self.call(Safety::Other, req, |mut c, r| async move {
            c.resume_page(r).await
        })
        .await
    }
}
