//! The delivery-event stream: follows StreamDeliveryEvents, reconnects by itself and resumes after the last event it delivered.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use otn::v1 as pb;
use tonic::{Code, Status, Streaming};

use crate::client::Client;
use crate::error::Error;
use crate::retry::RetryPolicy;

/// When and how often the event stream reconnects.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    /// Backoff between reconnection attempts (jittered; grows while attempts keep failing,
    /// and starts over once an event arrives).
    pub backoff: RetryPolicy,
    /// Give up (yield the last error and end) after this many failed attempts in a row
    /// without an event in between; `None` (the default) never gives up.
    pub max_consecutive_failures: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            backoff: RetryPolicy {
                initial_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(10),
                ..RetryPolicy::default()
            },
            max_consecutive_failures: None,
        }
    }
}

/// A subscription to the delivery-event log being put together.
#[derive(Debug, Clone)]
#[must_use = "call .subscribe() to get the stream"]
pub struct EventsBuilder {
    client: Client,
    req: pb::StreamDeliveryEventsRequest,
    policy: ReconnectPolicy,
}

impl Client {
    /// Delivery events: `client.events().page(p).topic(t).after(seq).subscribe()`.
    pub fn events(&self) -> EventsBuilder {
        EventsBuilder {
            client: self.clone(),
            req: pb::StreamDeliveryEventsRequest::default(),
            policy: ReconnectPolicy::default(),
        }
    }
}

impl EventsBuilder {
    /// Only events of this page.
    pub fn page(mut self, page_id: impl Into<String>) -> Self {
        self.req.page_id = page_id.into();
        self
    }

    /// Only events of this topic.
    pub fn topic(mut self, topic_key: impl Into<String>) -> Self {
        self.req.topic_key = topic_key.into();
        self
    }

    /// Only events of this notification.
    pub fn notification(mut self, notification_id: impl Into<String>) -> Self {
        self.req.notification_id = notification_id.into();
        self
    }

    /// Start with the first event after this sequence number (0, the default, is the whole
    /// log).
    pub fn after(mut self, sequence: i64) -> Self {
        self.req.after_sequence = sequence;
        self.req.from_now = false;
        self
    }

    /// Skip the stored log: only events from now on. Until the first event arrives the
    /// stream has no position to resume from, so events that happen while it reconnects
    /// before then can be missed; use [`EventsBuilder::after`] where that matters.
    pub fn from_now(mut self) -> Self {
        self.req.from_now = true;
        self.req.after_sequence = 0;
        self
    }

    /// How to reconnect (default: forever, backoff 200 ms up to 10 s).
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The stream. It connects on its first poll; a refusal that retrying cannot cure (for
    /// example `INVALID_ARGUMENT`) is yielded once and ends it.
    pub fn subscribe(self) -> EventStream {
        let shared = Arc::new(Shared {
            last: AtomicI64::new(self.req.after_sequence),
            reconnects: AtomicU64::new(0),
        });
        let state = State {
            client: self.client,
            req: self.req,
            policy: self.policy,
            live: None,
            pending: Default::default(),
            failures: 0,
            opened: false,
            done: false,
            shared: shared.clone(),
        };
        EventStream {
            inner: Box::pin(futures::stream::unfold(state, next)),
            shared,
        }
    }
}

#[derive(Debug)]
struct Shared {
    last: AtomicI64,
    reconnects: AtomicU64,
}

/// Delivery events in sequence order, each exactly once, across reconnections.
pub struct EventStream {
    inner: Pin<Box<dyn Stream<Item = Result<pb::DeliveryEvent, Error>> + Send>>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("last_sequence", &self.last_sequence())
            .field("reconnects", &self.reconnects())
            .finish()
    }
}

impl EventStream {
    /// The sequence number of the last event delivered (or the starting point).
    pub fn last_sequence(&self) -> i64 {
        self.shared.last.load(Ordering::SeqCst)
    }

    /// How many times the stream has reconnected.
    pub fn reconnects(&self) -> u64 {
        self.shared.reconnects.load(Ordering::SeqCst)
    }
}

impl Stream for EventStream {
    type Item = Result<pb::DeliveryEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

struct State {
    client: Client,
    req: pb::StreamDeliveryEventsRequest,
    policy: ReconnectPolicy,
    live: Option<Streaming<pb::StreamDeliveryEventsResponse>>,
    /// Events of the last message not handed out yet (a server batches them when asked).
    pending: std::collections::VecDeque<pb::DeliveryEvent>,
    /// Failed (re)connections since the last event.
    failures: u32,
    /// A stream was opened before: the next open is a reconnection.
    opened: bool,
    done: bool,
    shared: Arc<Shared>,
}

/// Whether a failure is one a reconnection can cure.
fn reconnectable(e: &Error) -> bool {
    e.is_transport()
        || matches!(
            e.code(),
            Code::Unavailable | Code::DeadlineExceeded | Code::Aborted
        )
}

impl State {
    /// The request to (re)open with: after the last delivered event, once there is one.
    fn request(&self) -> pb::StreamDeliveryEventsRequest {
        let mut req = self.req.clone();
        // Several events per message when the server can (a 0.2 server ignores this and sends
        // one per message, which is read the same way).
        if req.max_events_per_message == 0 {
            req.max_events_per_message = BATCH;
        }
        let last = self.shared.last.load(Ordering::SeqCst);
        if last > 0 {
            req.after_sequence = last;
            req.from_now = false;
        }
        req
    }

    /// Records a failure; `Some(err)` when the stream must end with it.
    fn fail(&mut self, err: Error) -> Option<Error> {
        self.live = None;
        if !reconnectable(&err) {
            return Some(err);
        }
        self.failures += 1;
        match self.policy.max_consecutive_failures {
            Some(max) if self.failures >= max => Some(err),
            _ => None,
        }
    }
}

/// Events asked for per message.
const BATCH: u32 = 100;

async fn next(mut st: State) -> Option<(Result<pb::DeliveryEvent, Error>, State)> {
    loop {
        if st.done {
            return None;
        }
        while let Some(event) = st.pending.pop_front() {
            // A resumed stream starts after the last delivered event; never repeat one.
            if event.sequence <= st.shared.last.load(Ordering::SeqCst) {
                continue;
            }
            st.shared.last.store(event.sequence, Ordering::SeqCst);
            st.failures = 0;
            return Some((Ok(event), st));
        }
        let Some(live) = st.live.as_mut() else {
            if st.failures > 0 {
                tokio::time::sleep(st.policy.backoff.backoff(st.failures)).await;
            }
            if st.opened {
                st.shared.reconnects.fetch_add(1, Ordering::SeqCst);
            }
            st.opened = true;
            let req = st.request();
            match st.client.raw().stream_delivery_events(req).await {
                Ok(resp) => st.live = Some(resp.into_inner()),
                Err(status) => {
                    if let Some(err) = st.fail(Error::from(status)) {
                        st.done = true;
                        return Some((Err(err), st));
                    }
                }
            }
            continue;
        };
        match live.message().await {
            Ok(Some(msg)) => {
                st.pending.extend(msg.event);
                st.pending.extend(msg.events);
            }
            // The server ended the stream (it is shutting down): reconnect and resume.
            Ok(None) => {
                let ended = Status::unavailable("the server ended the event stream");
                if let Some(err) = st.fail(Error::from(ended)) {
                    st.done = true;
                    return Some((Err(err), st));
                }
            }
            Err(status) => {
                if let Some(err) = st.fail(Error::from(status)) {
                    st.done = true;
                    return Some((Err(err), st));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_reconnection_can_cure() {
        assert!(reconnectable(&Error::from(Status::unavailable("down"))));
        assert!(reconnectable(&Error::from(Status::cancelled(
            "Timeout expired"
        ))));
        assert!(reconnectable(&Error::from(Status::internal(
            "h2 protocol error: stream reset"
        ))));
        assert!(!reconnectable(&Error::from(Status::invalid_argument(
            "bad"
        ))));
        assert!(!reconnectable(&Error::from(Status::internal("server bug"))));
        assert!(!reconnectable(&Error::from(Status::not_found("x"))));
    }
}
