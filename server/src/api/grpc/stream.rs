//! StreamDeliveryEvents: validates the request, subscribes to the event log (ended by shutdown
//! or the caller's revocation), and converts events; `framed.rs` sends them pre-encoded.

use std::pin::Pin;

use std::sync::Arc;

use futures::{Stream, StreamExt};
use otn::v1 as pb;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::convert::{delivery_path, event_kind, interaction, ts};
use crate::access::{Authenticator, Credential};
use crate::domain::event::{Event, EventFilter};
use crate::domain::values::{NotificationId, PageId, TopicKey, Violations};
use crate::error::{Error, Reason, Result};
use crate::events::shared::Shared;
use crate::events::{Events, stream::Start};
use crate::service::Pages;

/// The response stream of StreamDeliveryEvents (one event per message).
pub(crate) type DeliveryEventStream =
    Pin<Box<dyn Stream<Item = Result<pb::StreamDeliveryEventsResponse, Status>> + Send>>;

/// The events of a subscription, shared with every other subscriber of the process, ended by
/// shutdown (UNAVAILABLE) or revocation (UNAUTHENTICATED).
pub(crate) type SharedEventStream = Pin<Box<dyn Stream<Item = Result<Arc<Shared>, Status>> + Send>>;

/// The wire form of a stored event.
pub(crate) fn event_to_proto(e: &Event) -> pb::DeliveryEvent {
    let ev = &e.event;
    pb::DeliveryEvent {
        sequence: e.seq,
        event_time: Some(ts(e.at_ms)),
        r#type: event_kind(ev.kind) as i32,
        page_id: ev.page_id.clone(),
        topic_key: ev.topic_key.clone().unwrap_or_default(),
        notification_id: ev.notification_id.clone().unwrap_or_default(),
        delivery_id: ev.delivery_id.map(|d| d.to_string()).unwrap_or_default(),
        psid: ev.psid.clone().unwrap_or_default(),
        grant_id: ev.grant_id.map(|g| g.to_string()).unwrap_or_default(),
        message_id: ev.message_id.clone().unwrap_or_default(),
        path: delivery_path(ev.path) as i32,
        rule: ev.rule.clone().unwrap_or_default(),
        failure: ev.failure.as_ref().map(|f| pb::DeliveryFailure {
            reason: f.reason.clone(),
            code: f.code,
            subcode: f.subcode,
            message: f.message.clone(),
        }),
        actor: ev.actor.clone().unwrap_or_default(),
        interaction: ev
            .interaction
            .map_or(pb::InteractionKind::Unspecified, interaction) as i32,
        not_before_time: ev.not_before_ms.map(ts),
    }
}

/// Validates a request into the log filter and the starting point. Empty filter fields
/// mean "any"; every bad field is reported at once.
pub(crate) fn parse_request(req: &pb::StreamDeliveryEventsRequest) -> Result<(EventFilter, Start)> {
    let mut v = Violations::default();
    let page_ids = match req.page_id.is_empty() {
        true => None,
        false => v
            .check(PageId::parse("page_id", &req.page_id))
            .map(|p| vec![p.into_string()]),
    };
    let topic_key = match req.topic_key.is_empty() {
        true => None,
        false => v
            .check(TopicKey::parse("topic_key", &req.topic_key))
            .map(TopicKey::into_string),
    };
    let notification = match req.notification_id.is_empty() {
        true => None,
        false => v
            .check(NotificationId::parse(
                "notification_id",
                &req.notification_id,
            ))
            .map(NotificationId::into_string),
    };
    if req.after_sequence < 0 {
        v.push("after_sequence", "must not be negative");
    }
    let most = otn::limits::EVENTS_PER_MESSAGE_MAX;
    if req.max_events_per_message as usize > most {
        v.push(
            "max_events_per_message",
            format!("must be at most {most} (0: one event per message)"),
        );
    }
    if req.from_now && req.after_sequence != 0 {
        v.push(
            "from_now",
            "cannot be combined with after_sequence: resume with after_sequence alone",
        );
    }
    v.finish()?;
    let filter = EventFilter {
        page_ids,
        topic_key,
        notification_id: notification,
    };
    let start = match req.from_now {
        true => Start::Now,
        false => Start::After(req.after_sequence),
    };
    Ok((filter, start))
}

/// Who holds a stream open, checked again while it is: the authenticator and the caller's
/// credential.
#[derive(Debug, Clone)]
pub(crate) struct Holder {
    pub(crate) authn: Arc<Authenticator>,
    pub(crate) credential: Credential,
}

/// NOT_FOUND / PAGE_NOT_FOUND for a filter naming a page that is not configured (a stream on
/// it would stay silent forever, and a typo deserves an answer).
pub(crate) fn known_pages(filter: &EventFilter, pages: &Pages) -> Result<()> {
    for p in filter.page_ids.iter().flatten() {
        pages.get(p)?;
    }
    Ok(())
}

/// Subscribes for StreamDeliveryEvents: every event after `after_sequence` (or from now on)
/// that matches the filters, in sequence order, live, until the client leaves or `shutdown` is
/// cancelled: then the stream ends with UNAVAILABLE / SHUTTING_DOWN, so a client resumes on
/// another replica instead of taking a clean end for the end of the log. A failing database ends
/// the stream with an error after retries; the client resumes with the last sequence it saw.
/// When the holder's key is revoked (or its session ended) the stream ends UNAUTHENTICATED
/// within `api_key_cache_ms`.
pub(crate) async fn subscribe(
    events: &Events,
    shutdown: CancellationToken,
    filter: EventFilter,
    start: Start,
    holder: Holder,
) -> Result<SharedEventStream> {
    let events = events.subscribe(shutdown.clone(), filter, start).await?;
    let ended = futures::stream::once(async move { shutdown.is_cancelled() })
        .filter_map(|draining| async move { draining.then(|| Err(Status::from(shutting_down()))) });
    let events = events.map(|r| r.map_err(Status::from)).chain(ended);
    Ok(Box::pin(until_revoked(events, holder)))
}

/// [`subscribe`], one event per response message (the generated service's form; the server
/// routes the method to `framed.rs`, which sends the same events pre-encoded).
pub(crate) async fn stream_delivery_events(
    events: &Events,
    shutdown: CancellationToken,
    filter: EventFilter,
    start: Start,
    holder: Holder,
) -> Result<DeliveryEventStream> {
    let s = subscribe(events, shutdown, filter, start, holder).await?;
    Ok(Box::pin(s.map(|r| {
        r.map(|e| pb::StreamDeliveryEventsResponse {
            event: Some(event_to_proto(&e.event)),
            events: Vec::new(),
        })
    })))
}

/// What an [`until_revoked`] stream merges.
enum Item<T> {
    Inner(T),
    Revoked,
    End,
}

/// `inner`, ended with UNAUTHENTICATED as soon as the holder's credential stops holding
/// (checked every [`Authenticator::recheck_every`]; a database hiccup keeps the stream).
fn until_revoked<T: Send + 'static>(
    inner: impl Stream<Item = Result<T, Status>> + Send + 'static,
    holder: Holder,
) -> impl Stream<Item = Result<T, Status>> + Send + 'static {
    let checks = futures::stream::unfold(holder, |h| async move {
        if matches!(h.credential, Credential::Certificate | Credential::Sandbox) {
            return std::future::pending().await;
        }
        loop {
            tokio::time::sleep(h.authn.recheck_every()).await;
            if let Ok(false) = h.authn.still_valid(&h.credential).await {
                return Some((Item::Revoked, h));
            }
        }
    });
    let inner = inner
        .map(Item::Inner)
        .chain(futures::stream::once(async { Item::End }));
    futures::stream::select(inner, checks).scan(false, |ended, item| {
        let out = match item {
            _ if *ended => None,
            Item::Inner(x) => Some(x),
            Item::End => None,
            Item::Revoked => {
                *ended = true;
                Some(Err(Status::from(Error::Unauthenticated {
                    reason: Reason::ApiKeyInvalid,
                    message: "the API key (or session) of this stream was revoked or expired"
                        .into(),
                })))
            }
        };
        std::future::ready(out)
    })
}

/// How a stream ends when its server shuts down.
pub(crate) fn shutting_down() -> Error {
    Error::Unavailable {
        reason: Reason::ShuttingDown,
        message: "the server is shutting down: resume with after_sequence (on another replica)"
            .into(),
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{Failure, NewEvent};
    use crate::domain::vocab::{DeliveryPath, EventKind};

    fn fields(r: Result<(EventFilter, Start)>) -> Vec<String> {
        match r {
            Err(Error::Invalid { violations, .. }) => {
                violations.into_iter().map(|f| f.field).collect()
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn an_empty_request_streams_the_whole_log() {
        let (filter, start) = parse_request(&Default::default()).unwrap();
        assert_eq!(filter, EventFilter::default());
        assert_eq!(start, Start::After(0));
    }

    #[test]
    fn filters_and_start_are_taken_from_the_request() {
        let req = pb::StreamDeliveryEventsRequest {
            page_id: "p1".into(),
            topic_key: "back-in-stock:sku-1".into(),
            notification_id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
            from_now: true,
            ..Default::default()
        };
        let (filter, start) = parse_request(&req).unwrap();
        assert_eq!(filter.page_ids, Some(vec!["p1".to_string()]));
        assert_eq!(filter.topic_key.as_deref(), Some("back-in-stock:sku-1"));
        assert!(filter.notification_id.is_some());
        assert_eq!(start, Start::Now);
    }

    #[test]
    fn every_bad_field_is_named() {
        let req = pb::StreamDeliveryEventsRequest {
            page_id: "has space".into(),
            topic_key: "bad topic".into(),
            notification_id: "x'; DROP".into(),
            after_sequence: -1,
            from_now: true,
            max_events_per_message: 501,
        };
        assert_eq!(
            fields(parse_request(&req)),
            [
                "page_id",
                "topic_key",
                "notification_id",
                "after_sequence",
                "max_events_per_message",
                "from_now"
            ]
        );
    }

    #[test]
    fn resuming_and_from_now_are_exclusive() {
        let req = pb::StreamDeliveryEventsRequest {
            after_sequence: 5,
            from_now: true,
            ..Default::default()
        };
        assert_eq!(fields(parse_request(&req)), ["from_now"]);
        let s = Status::from(parse_request(&req).unwrap_err());
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn events_convert_to_the_wire_form() {
        let mut ev = NewEvent::new(EventKind::Failed, "p1");
        ev.topic_key = Some("t".into());
        ev.grant_id = Some(42);
        ev.path = Some(DeliveryPath::Grant);
        ev.failure = Some(Failure {
            reason: "BLOCKED".into(),
            code: 551,
            subcode: 1545041,
            message: "unavailable".into(),
        });
        let e = Event {
            seq: 7,
            at_ms: 1_500,
            event: ev,
        };
        let p = event_to_proto(&e);
        assert_eq!(p.sequence, 7);
        assert_eq!(p.r#type, pb::DeliveryEventType::Failed as i32);
        assert_eq!(p.path, pb::DeliveryPath::Grant as i32);
        assert_eq!(p.grant_id, "42");
        assert_eq!(p.notification_id, "");
        assert_eq!(p.event_time.unwrap().nanos, 500_000_000);
        assert_eq!(p.failure.unwrap().code, 551);
    }
}
