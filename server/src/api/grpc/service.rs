//! The NotificationService adapter: convert the request (`requests.rs`, `send.rs`), check the
//! caller may act on its page, call the use case, convert back.

use otn::v1::{self as pb, notification_service_server::NotificationService};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::convert::{self, Cursor, exclusion, grant, recipient};
use super::{requests, send, stream};
use std::sync::Arc;

use crate::access::{Authenticator, Caller};
use crate::domain::grant::RevokeTarget;
use crate::events::Events;
use crate::service::{Consent, Insights, Sending};

/// The gRPC service.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    consent: Consent,
    sending: Sending,
    events: Events,
    authn: Arc<Authenticator>,
    shutdown: CancellationToken,
}

impl Api {
    /// Serves the use cases; streams end when `shutdown` is cancelled, or when their caller's
    /// key is revoked (`authn` checks it).
    pub(crate) fn new(
        consent: Consent,
        sending: Sending,
        events: Events,
        authn: Arc<Authenticator>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            consent,
            sending,
            events,
            authn,
            shutdown,
        }
    }

    fn now(&self) -> i64 {
        self.consent.deps().now()
    }

    fn window_ms(&self) -> i64 {
        self.consent.deps().policy().window_ms()
    }

    /// The page of a grant, checked against the caller: another page's grant answers as one
    /// that does not exist (a grant that does not exist is left to the use case to report).
    async fn may_act_on_grant(&self, caller: &Caller, id: i64) -> Result<(), Status> {
        if let Some(page) = self.consent.grant_page(id).await? {
            caller.may_see(&page, || crate::service::grant_not_found(id))?;
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl NotificationService for Api {
    async fn request_opt_in(
        &self,
        req: Request<pb::RequestOptInRequest>,
    ) -> Result<Response<pb::RequestOptInResponse>, Status> {
        let caller = Caller::of(&req);
        let input = requests::opt_in_input(req.get_ref())?;
        caller.may_act_on(input.page_id.as_str())?;
        let (row, replayed) = self.consent.request_opt_in(input, caller.actor()).await?;
        Ok(Response::new(pb::RequestOptInResponse {
            opt_in_request: Some(convert::opt_in(&row)),
            replayed,
        }))
    }

    async fn record_opt_in(
        &self,
        req: Request<pb::RecordOptInRequest>,
    ) -> Result<Response<pb::RecordOptInResponse>, Status> {
        let caller = Caller::of(&req);
        let now = self.now();
        let g = requests::new_grant(req.get_ref(), now)?;
        caller.may_act_on(g.page_id.as_str())?;
        let (g, replayed) = self.consent.record_opt_in(g, caller.actor()).await?;
        Ok(Response::new(pb::RecordOptInResponse {
            grant: Some(grant(&g, now)),
            replayed,
        }))
    }

    async fn list_eligible(
        &self,
        req: Request<pb::ListEligibleRequest>,
    ) -> Result<Response<pb::ListEligibleResponse>, Status> {
        let caller = Caller::of(&req);
        let r = req.into_inner();
        let (q, size) = requests::eligible(&r)?;
        caller.may_act_on(q.page_id.as_str())?;
        let cursor = convert::decode_page_token(&r.page_token, &q)?;
        let total = match (r.include_total_size, cursor) {
            (false, _) => None,
            (true, Cursor { after: 0, .. }) => Some(None),
            (true, Cursor { total, .. }) => Some(total),
        };
        let page = self
            .consent
            .list_eligible(q.clone(), cursor.after, size, r.explain_exclusions, total)
            .await?;
        let now = self.now();
        Ok(Response::new(pb::ListEligibleResponse {
            recipients: page
                .items
                .iter()
                .map(|e| pb::EligibleRecipient {
                    recipient: Some(recipient(&e.recipient, self.window_ms())),
                    grants: e.grants.iter().map(|g| grant(g, now)).collect(),
                })
                .collect(),
            next_page_token: page
                .next_after
                .map(|a| convert::encode_page_token(a, page.total, &q))
                .unwrap_or_default(),
            total_size: page.total.unwrap_or(0),
            exclusions: page
                .exclusions
                .into_iter()
                .map(|(reason, count)| pb::ExclusionCount {
                    reason: exclusion(reason) as i32,
                    count,
                })
                .collect(),
        }))
    }

    async fn record_interaction(
        &self,
        req: Request<pb::RecordInteractionRequest>,
    ) -> Result<Response<pb::RecordInteractionResponse>, Status> {
        let caller = Caller::of(&req);
        let (page, psid, at) = requests::interaction(req.get_ref(), self.now())?;
        caller.may_act_on(page.as_str())?;
        let rec = self.consent.record_interaction(&page, &psid, at).await?;
        Ok(Response::new(pb::RecordInteractionResponse {
            recipient: Some(recipient(&rec, self.window_ms())),
        }))
    }

    async fn update_recipient(
        &self,
        req: Request<pb::UpdateRecipientRequest>,
    ) -> Result<Response<pb::UpdateRecipientResponse>, Status> {
        let caller = Caller::of(&req);
        let c = requests::recipient_change(req.get_ref())?;
        caller.may_act_on(c.page.as_str())?;
        let rec = self
            .consent
            .update_recipient(&c.page, &c.psid, &c.add, &c.remove, c.region, c.time_zone)
            .await?;
        Ok(Response::new(pb::UpdateRecipientResponse {
            recipient: Some(recipient(&rec, self.window_ms())),
        }))
    }

    async fn revoke_grant(
        &self,
        req: Request<pb::RevokeGrantRequest>,
    ) -> Result<Response<pb::RevokeGrantResponse>, Status> {
        let caller = Caller::of(&req);
        let target = requests::revoke_target(req.get_ref())?;
        match &target {
            RevokeTarget::Grant(id) => self.may_act_on_grant(&caller, *id).await?,
            RevokeTarget::Topic { page_id, .. } => caller.may_act_on(page_id.as_str())?,
        }
        let revoked = self.consent.revoke(target, caller.actor()).await?;
        let now = self.now();
        Ok(Response::new(pb::RevokeGrantResponse {
            revoked: revoked.iter().map(|g| grant(g, now)).collect(),
        }))
    }

    async fn assign_grant(
        &self,
        req: Request<pb::AssignGrantRequest>,
    ) -> Result<Response<pb::AssignGrantResponse>, Status> {
        let caller = Caller::of(&req);
        let (id, topic, title) = requests::assignment(req.get_ref())?;
        self.may_act_on_grant(&caller, id).await?;
        let g = self
            .consent
            .assign(id, &topic, title, caller.actor())
            .await?;
        Ok(Response::new(pb::AssignGrantResponse {
            grant: Some(grant(&g, self.now())),
        }))
    }

    async fn forget_recipient(
        &self,
        req: Request<pb::ForgetRecipientRequest>,
    ) -> Result<Response<pb::ForgetRecipientResponse>, Status> {
        let caller = Caller::of(&req);
        let (page, psid) = requests::person(&req.get_ref().page_id, &req.get_ref().psid)?;
        caller.may_act_on(page.as_str())?;
        let f = self.consent.forget(&page, &psid, caller.actor()).await?;
        Ok(Response::new(pb::ForgetRecipientResponse {
            found: f.found,
            grants_erased: f.grants as i64,
            opt_in_requests_erased: f.opt_in_requests as i64,
            deliveries_erased: f.deliveries as i64,
        }))
    }

    async fn send_notification(
        &self,
        req: Request<pb::SendNotificationRequest>,
    ) -> Result<Response<pb::SendNotificationResponse>, Status> {
        let caller = Caller::of(&req);
        let input = send::send_input(req.get_ref())?;
        caller.may_act_on(input.page_id.as_str())?;
        let (n, replayed) = self.sending.send(input, caller.actor()).await?;
        let status = self.sending.status(&n.id, &caller).await?;
        Ok(Response::new(pb::SendNotificationResponse {
            notification: Some(send::notification(&status)),
            replayed,
        }))
    }

    async fn get_notification(
        &self,
        req: Request<pb::GetNotificationRequest>,
    ) -> Result<Response<pb::GetNotificationResponse>, Status> {
        let caller = Caller::of(&req);
        let id = requests::notification_id(&req.get_ref().notification_id)?;
        let status = self.sending.status(id.as_str(), &caller).await?;
        Ok(Response::new(pb::GetNotificationResponse {
            notification: Some(send::notification(&status)),
        }))
    }

    async fn cancel_notification(
        &self,
        req: Request<pb::CancelNotificationRequest>,
    ) -> Result<Response<pb::CancelNotificationResponse>, Status> {
        let caller = Caller::of(&req);
        let id = requests::notification_id(&req.get_ref().notification_id)?;
        let (status, n) = self.sending.cancel(id.as_str(), &caller).await?;
        Ok(Response::new(pb::CancelNotificationResponse {
            notification: Some(send::notification(&status)),
            cancelled_deliveries: n as i64,
        }))
    }

    async fn list_notifications(
        &self,
        req: Request<pb::ListNotificationsRequest>,
    ) -> Result<Response<pb::ListNotificationsResponse>, Status> {
        let caller = Caller::of(&req);
        let l = requests::notification_listing(req.get_ref())?;
        caller.may_act_on(l.page.as_str())?;
        let before = l.before.as_ref().map(|b| b.as_str());
        let mut list = self
            .sending
            .list(l.page.as_str(), &l.states, before, l.size + 1)
            .await?;
        let next = match list.len() as u64 > l.size {
            true => {
                list.truncate(l.size as usize);
                list.last().map(|s| s.notification.id.clone())
            }
            false => None,
        };
        Ok(Response::new(pb::ListNotificationsResponse {
            notifications: list.iter().map(send::notification).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn resume_page(
        &self,
        req: Request<pb::ResumePageRequest>,
    ) -> Result<Response<pb::ResumePageResponse>, Status> {
        let caller = Caller::of(&req);
        let page = requests::page(&req.get_ref().page_id)?;
        caller.may_act_on(page.as_str())?;
        let (resumed, still) = self
            .sending
            .resume_page(page.as_str(), caller.actor())
            .await?;
        Ok(Response::new(pb::ResumePageResponse {
            resumed,
            paused_reason: still.unwrap_or_default(),
        }))
    }

    type StreamDeliveryEventsStream = stream::DeliveryEventStream;

    async fn stream_delivery_events(
        &self,
        req: Request<pb::StreamDeliveryEventsRequest>,
    ) -> Result<Response<Self::StreamDeliveryEventsStream>, Status> {
        let caller = Caller::of(&req);
        let (filter, start) = stream::parse_request(req.get_ref())?;
        let filter = caller.restrict(filter)?;
        stream::known_pages(&filter, self.consent.deps().pages())?;
        let holder = stream::Holder {
            authn: self.authn.clone(),
            credential: caller.credential().clone(),
        };
        let s = stream::stream_delivery_events(
            &self.events,
            self.shutdown.clone(),
            filter,
            start,
            holder,
        )
        .await?;
        Ok(Response::new(s))
    }

    async fn get_funnel(
        &self,
        req: Request<pb::GetFunnelRequest>,
    ) -> Result<Response<pb::GetFunnelResponse>, Status> {
        let caller = Caller::of(&req);
        let q = requests::funnel_query(req.get_ref())?;
        let insights = Insights::new(self.consent.deps_arc());
        let f = insights.funnel(q, &caller).await?;
        Ok(Response::new(super::funnel::funnel(&f)))
    }
}
