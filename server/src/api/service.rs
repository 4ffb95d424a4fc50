//! The NotificationService adapter: convert the request, call the ledger, convert back.

use otn::v1::{self as pb, notification_service_server::NotificationService};
use tonic::{Request, Response, Status};

use super::convert::{self, ms_of, page_psid};
use super::{send, stream};
use crate::domain::grant::NewGrant;
use crate::domain::types::{
    Payload, Region, RequestId, Title, Token, TopicKey, Violations, checked, parse_tags,
};
use crate::error::Error;
use crate::ledger::{Ledger, OptInInput};
use crate::store::grants::RevokeTarget;
use tokio_util::sync::CancellationToken;

/// The gRPC service.
#[derive(Debug, Clone)]
pub struct Api {
    ledger: Ledger,
    shutdown: CancellationToken,
}

impl Api {
    /// Serves `ledger`; streams end when `shutdown` is cancelled.
    pub fn new(ledger: Ledger, shutdown: CancellationToken) -> Self {
        Self { ledger, shutdown }
    }
}

#[tonic::async_trait]
impl NotificationService for Api {
    #[tracing::instrument(skip_all, fields(page_id = %req.get_ref().page_id))]
    async fn request_opt_in(
        &self,
        req: Request<pb::RequestOptInRequest>,
    ) -> Result<Response<pb::RequestOptInResponse>, Status> {
        let r = req.into_inner();
        let mut v = Violations::default();
        let request_id = v.check(RequestId::parse("request_id", &r.request_id));
        let (page, psid) = page_psid(&mut v, &r.page_id, &r.psid);
        let topic = v.check(TopicKey::parse("topic_key", &r.topic_key));
        let title = v.check(Title::parse("title", &r.title));
        let payload = v.check(Payload::parse("payload", &r.payload));
        v.finish()?;
        let input = OptInInput {
            request_id: checked(request_id)?,
            page_id: checked(page)?,
            psid: checked(psid)?,
            topic_key: checked(topic)?,
            title: checked(title)?,
            payload: checked(payload)?,
        };
        let (row, replayed) = self.ledger.request_opt_in(input).await?;
        Ok(Response::new(pb::RequestOptInResponse {
            opt_in_request: Some(convert::opt_in(&row)),
            replayed,
        }))
    }

    #[tracing::instrument(skip_all, fields(page_id = %req.get_ref().page_id))]
    async fn record_opt_in(
        &self,
        req: Request<pb::RecordOptInRequest>,
    ) -> Result<Response<pb::RecordOptInResponse>, Status> {
        let r = req.into_inner();
        let mut v = Violations::default();
        let (page, psid) = page_psid(&mut v, &r.page_id, &r.psid);
        let topic = v.check(TopicKey::parse("topic_key", &r.topic_key));
        let title = match r.topic_title.as_str() {
            "" => topic
                .as_ref()
                .map(|t| t.as_str().chars().take(65).collect::<String>()),
            t => v
                .check(Title::parse("topic_title", t))
                .map(Title::into_string),
        };
        let kind = convert::kind_of(&mut v, "kind", r.kind);
        let token = v.check(Token::parse("token", &r.token));
        let payload = v.check(Payload::parse("payload", &r.payload));
        let opted_in = ms_of(&mut v, "opt_in_time", &r.opt_in_time);
        let expires = ms_of(&mut v, "expire_time", &r.expire_time);
        let now = self.ledger.clock.now_ms();
        if expires.is_some_and(|e| e <= opted_in.unwrap_or(now)) {
            v.push("expire_time", "must be after opt_in_time");
        }
        if opted_in.is_some_and(|o| o > now + 60_000) {
            v.push("opt_in_time", "must not be in the future");
        }
        v.finish()?;
        let grant = NewGrant {
            page_id: checked(page)?,
            psid: checked(psid)?,
            topic_key: checked(topic)?,
            topic_title: checked(title)?,
            kind: checked(kind)?,
            token: checked(token)?,
            payload: checked(payload)?.into_string(),
            opted_in_ms: opted_in.unwrap_or(now),
            expires_ms: expires,
        };
        let (g, replayed) = self.ledger.record_opt_in(grant).await?;
        Ok(Response::new(pb::RecordOptInResponse {
            grant: Some(convert::grant(&g, now)),
            replayed,
        }))
    }

    #[tracing::instrument(skip_all, fields(page_id = %req.get_ref().page_id))]
    async fn list_eligible(
        &self,
        req: Request<pb::ListEligibleRequest>,
    ) -> Result<Response<pb::ListEligibleResponse>, Status> {
        let (q, after, size, explain) = convert::list_eligible(req.get_ref())?;
        let page = self
            .ledger
            .list_eligible(q.clone(), after, size, explain)
            .await?;
        let now = self.ledger.clock.now_ms();
        Ok(Response::new(pb::ListEligibleResponse {
            recipients: page
                .items
                .iter()
                .map(|e| pb::EligibleRecipient {
                    recipient: Some(convert::recipient(&e.recipient, &self.ledger)),
                    grants: e.grants.iter().map(|g| convert::grant(g, now)).collect(),
                })
                .collect(),
            next_page_token: page
                .next_after
                .map(|a| convert::encode_page_token(a, &q))
                .unwrap_or_default(),
            total_size: page.total,
            exclusions: page
                .exclusions
                .into_iter()
                .map(|(reason, count)| pb::ExclusionCount { reason, count })
                .collect(),
        }))
    }

    async fn record_interaction(
        &self,
        req: Request<pb::RecordInteractionRequest>,
    ) -> Result<Response<pb::RecordInteractionResponse>, Status> {
        let r = req.into_inner();
        let mut v = Violations::default();
        let (page, psid) = page_psid(&mut v, &r.page_id, &r.psid);
        if !(0..=4).contains(&r.kind) {
            v.push("kind", format!("unknown interaction kind {}", r.kind));
        }
        let at = ms_of(&mut v, "interaction_time", &r.interaction_time);
        if at.is_some_and(|a| a > self.ledger.clock.now_ms() + 60_000) {
            v.push("interaction_time", "must not be in the future");
        }
        v.finish()?;
        let rec = self
            .ledger
            .record_interaction(&checked(page)?, &checked(psid)?, at)
            .await?;
        Ok(Response::new(pb::RecordInteractionResponse {
            recipient: Some(convert::recipient(&rec, &self.ledger)),
        }))
    }

    async fn update_recipient(
        &self,
        req: Request<pb::UpdateRecipientRequest>,
    ) -> Result<Response<pb::UpdateRecipientResponse>, Status> {
        let r = req.into_inner();
        let mut v = Violations::default();
        let (page, psid) = page_psid(&mut v, &r.page_id, &r.psid);
        let add = parse_tags(&mut v, "add_tags", &r.add_tags);
        let remove = parse_tags(&mut v, "remove_tags", &r.remove_tags);
        let region = match r.region.as_deref() {
            None => None,
            Some("") => Some(None),
            Some(code) => v.check(Region::parse("region", code)).map(Some),
        };
        if add.len() + remove.len() > 100 {
            v.push("add_tags", "at most 100 tags may change in one call");
        }
        v.finish()?;
        let rec = self
            .ledger
            .update_recipient(&checked(page)?, &checked(psid)?, &add, &remove, region)
            .await?;
        Ok(Response::new(pb::UpdateRecipientResponse {
            recipient: Some(convert::recipient(&rec, &self.ledger)),
        }))
    }

    async fn revoke_grant(
        &self,
        req: Request<pb::RevokeGrantRequest>,
    ) -> Result<Response<pb::RevokeGrantResponse>, Status> {
        let r = req.into_inner();
        let mut v = Violations::default();
        let target = if !r.grant_id.is_empty() {
            match r.grant_id.parse::<i64>() {
                Ok(id) if id > 0 => Some(RevokeTarget::Grant(id)),
                _ => {
                    v.push("grant_id", "is not a grant id");
                    None
                }
            }
        } else {
            let (page, psid) = page_psid(&mut v, &r.page_id, &r.psid);
            let topic = v.check(TopicKey::parse("topic_key", &r.topic_key));
            match (page, psid, topic) {
                (Some(p), Some(s), Some(t)) => Some(RevokeTarget::Topic {
                    page_id: p.into_string(),
                    psid: s.into_string(),
                    topic_key: t.into_string(),
                }),
                _ => None,
            }
        };
        v.finish()?;
        let revoked = self.ledger.revoke(checked(target)?).await?;
        let now = self.ledger.clock.now_ms();
        Ok(Response::new(pb::RevokeGrantResponse {
            revoked: revoked.iter().map(|g| convert::grant(g, now)).collect(),
        }))
    }

    async fn forget_recipient(
        &self,
        req: Request<pb::ForgetRecipientRequest>,
    ) -> Result<Response<pb::ForgetRecipientResponse>, Status> {
        let r = req.into_inner();
        let mut v = Violations::default();
        let (page, psid) = page_psid(&mut v, &r.page_id, &r.psid);
        v.finish()?;
        let f = self.ledger.forget(&checked(page)?, &checked(psid)?).await?;
        Ok(Response::new(pb::ForgetRecipientResponse {
            found: f.found,
            grants_erased: f.grants as i64,
            opt_in_requests_erased: f.opt_in_requests as i64,
            deliveries_erased: f.deliveries as i64,
        }))
    }

    #[tracing::instrument(skip_all, fields(page_id = %req.get_ref().page_id))]
    async fn send_notification(
        &self,
        req: Request<pb::SendNotificationRequest>,
    ) -> Result<Response<pb::SendNotificationResponse>, Status> {
        let input = send::send_input(req.get_ref())?;
        let (row, replayed) = self.ledger.send_notification(input).await?;
        let (row, counts) = self.ledger.notification(&row.id).await?;
        Ok(Response::new(pb::SendNotificationResponse {
            notification: Some(send::notification(&row, &counts)),
            replayed,
        }))
    }

    async fn get_notification(
        &self,
        req: Request<pb::GetNotificationRequest>,
    ) -> Result<Response<pb::GetNotificationResponse>, Status> {
        let id = notification_id(&req.get_ref().notification_id)?;
        let (row, counts) = self.ledger.notification(&id).await?;
        Ok(Response::new(pb::GetNotificationResponse {
            notification: Some(send::notification(&row, &counts)),
        }))
    }

    async fn cancel_notification(
        &self,
        req: Request<pb::CancelNotificationRequest>,
    ) -> Result<Response<pb::CancelNotificationResponse>, Status> {
        let id = notification_id(&req.get_ref().notification_id)?;
        let (row, counts, n) = self.ledger.cancel(&id).await?;
        Ok(Response::new(pb::CancelNotificationResponse {
            notification: Some(send::notification(&row, &counts)),
            cancelled_deliveries: n as i64,
        }))
    }

    type StreamDeliveryEventsStream = stream::DeliveryEventStream;

    async fn stream_delivery_events(
        &self,
        req: Request<pb::StreamDeliveryEventsRequest>,
    ) -> Result<Response<Self::StreamDeliveryEventsStream>, Status> {
        let s = stream::stream_delivery_events(
            &self.ledger.store,
            self.shutdown.clone(),
            req.into_inner(),
        )
        .await?;
        Ok(Response::new(s))
    }
}

fn notification_id(id: &str) -> Result<String, Status> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(Error::field("notification_id", "is not a notification id").into());
    }
    Ok(id.to_string())
}
