//! `GET /v1/events`: StreamDeliveryEvents as Server-Sent Events. The same validation, caller
//! limits and subscription as the gRPC stream; each event's `id:` is its sequence, so a
//! browser's automatic reconnect (`Last-Event-ID`) resumes exactly after the last one seen.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use otn::v1 as pb;
use serde::Deserialize;
use tonic::Status;

use super::Console;
use super::auth::ApiError;
use super::pbjson;
use crate::access::Scope;
use crate::api::grpc::stream::{Holder, event_to_proto, known_pages, parse_request, subscribe};
use crate::error::Error;
use crate::events::shared::Shared;

/// A comment line goes out this often when no event does, so proxies keep the connection.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(15);

/// How long a browser waits before reconnecting (the `retry:` field).
const RECONNECT: Duration = Duration::from_secs(1);

/// The query of `/v1/events`; empty filters mean "any".
#[derive(Debug, Default, Deserialize)]
pub(super) struct EventsQuery {
    #[serde(default)]
    page_id: String,
    #[serde(default)]
    topic_key: String,
    #[serde(default)]
    notification_id: String,
    /// Start after this sequence (a `Last-Event-ID` header wins: it is the reconnect).
    after: Option<String>,
}

/// The sequence to resume after: `Last-Event-ID`, else `?after=`, else 0 (the whole log).
fn resume_after(headers: &HeaderMap, q: &EventsQuery) -> Result<i64, Error> {
    let header = headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("?"));
    let (field, given) = match (header, q.after.as_deref()) {
        (Some(h), _) => ("Last-Event-ID", h.trim()),
        (None, Some(a)) => ("after", a.trim()),
        (None, None) => return Ok(0),
    };
    if given.is_empty() {
        return Ok(0);
    }
    given
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            Error::field(
                field,
                "must be an event sequence: a whole number, 0 or more",
            )
        })
}

/// One event as SSE: its JSON rendered once per process, shared by every subscriber.
fn sse_event(e: Arc<Shared>) -> Event {
    let json = e.json(|ev| pbjson::event(&event_to_proto(ev)).to_string());
    Event::default().id(e.event.seq.to_string()).data(&*json)
}

/// Serves the stream until the client leaves or the server shuts down (then it ends, and the
/// browser reconnects to whichever replica answers, resuming after its last id).
pub(super) async fn events(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let caller = c.caller(&headers, Scope::Read).await?;
    let req = pb::StreamDeliveryEventsRequest {
        page_id: q.page_id.clone(),
        topic_key: q.topic_key.clone(),
        notification_id: q.notification_id.clone(),
        after_sequence: resume_after(&headers, &q)?,
        from_now: false,
        max_events_per_message: 0,
    };
    let (filter, start) = parse_request(&req)?;
    let filter = caller.restrict(filter)?;
    known_pages(&filter, c.deps().pages())?;
    tracing::debug!(
        actor = caller.actor().as_str(),
        ?start,
        "event stream opened over SSE"
    );
    let holder = Holder {
        authn: c.authn.clone(),
        credential: caller.credential().clone(),
    };
    let events = subscribe(&c.events, c.shutdown.clone(), filter, start, holder).await?;
    let hello = Event::default().retry(RECONNECT).comment("otn events");
    // An error (shutdown, revocation, a failed read) is the last event, sent as `event: error`,
    // and the body then ends cleanly: the browser reconnects after its last id.
    let stream = futures::stream::once(async move { hello })
        .chain(events.scan(false, |ended, r| {
            let out = match (*ended, r) {
                (true, _) => None,
                (false, Ok(ev)) => Some(sse_event(ev)),
                (false, Err(status)) => {
                    *ended = true;
                    Some(error_event(&status))
                }
            };
            std::future::ready(out)
        }))
        .map(Ok::<_, Infallible>);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("")))
}

/// The last event of a stream that ended with `status`: its code, reason and message.
fn error_event(status: &Status) -> Event {
    use tonic_types::StatusExt;
    let reason = status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default();
    let body = serde_json::json!({
        "code": format!("{:?}", status.code()),
        "reason": reason,
        "message": status.message(),
    });
    Event::default().event("error").data(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(after: Option<&str>) -> EventsQuery {
        EventsQuery {
            after: after.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn last_event_id_wins_over_after() {
        let mut h = HeaderMap::new();
        assert_eq!(resume_after(&h, &q(None)).unwrap(), 0);
        assert_eq!(resume_after(&h, &q(Some("7"))).unwrap(), 7);
        h.insert("last-event-id", "12".parse().unwrap());
        assert_eq!(resume_after(&h, &q(Some("7"))).unwrap(), 12);
    }

    #[test]
    fn a_bad_resume_point_names_its_field() {
        let mut h = HeaderMap::new();
        assert!(matches!(
            resume_after(&h, &q(Some("-1"))),
            Err(Error::Invalid { .. })
        ));
        h.insert("last-event-id", "x".parse().unwrap());
        let Err(Error::Invalid { violations, .. }) = resume_after(&h, &q(None)) else {
            panic!("expected a violation");
        };
        assert_eq!(violations[0].field, "Last-Event-ID");
    }
}
