//! Subscriber streams: one reader task and bounded buffer each, fed from memory by the process's
//! hub while it keeps up, and from the durable log when it resumes, falls behind or has no hub.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use std::sync::Arc;

use futures::Stream;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::hub::{Hub, Run};
use super::shared::Shared;
use crate::domain::event::{Event, EventFilter};
use crate::error::Result;
use crate::store::Store;

/// Where a subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// With the first event after this sequence number (0 = the whole log).
    After(i64),
    /// With the first event committed after the subscription was made.
    Now,
}

/// Tuning of a subscription. The defaults suit the gRPC stream.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Events read from the log per query.
    pub(crate) batch: u64,
    /// Events buffered between the reader task and the consumer.
    pub(crate) buffer: usize,
    /// The log is read at least this often even without a wake-up, so a missed wake-up
    /// only delays events, never loses them.
    pub(crate) poll: Duration,
    /// Consecutive failed reads (retried with backoff) before the stream ends with the error.
    pub(crate) max_failures: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            batch: 500,
            buffer: 256,
            poll: Duration::from_secs(1),
            max_failures: 6,
        }
    }
}

/// One read of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    /// The matching events after the old cursor, oldest first.
    pub(crate) events: Vec<Event>,
    /// The new cursor: every event up to it has been seen (matching or not).
    pub(crate) cursor: i64,
    /// The batch was full: read again at once.
    pub(crate) more: bool,
}

/// Reads up to `limit` events after `cursor` that match `filter`, and how far that read got.
///
/// The committed head is read first. Sequence order is commit order, so once the head is
/// known every event up to it is visible; a read that returns fewer than `limit` events has
/// therefore seen everything up to the head, and the cursor moves there even if nothing
/// matched.
pub(crate) async fn read_batch(
    store: &Store,
    filter: &EventFilter,
    cursor: i64,
    limit: u64,
) -> Result<Batch> {
    let limit = limit.max(1);
    let head = store.last_event_seq().await?;
    if head <= cursor {
        return Ok(Batch {
            events: Vec::new(),
            cursor,
            more: false,
        });
    }
    let events = store.events_after(cursor, filter, limit).await?;
    let more = events.len() as u64 >= limit;
    let last = events.last().map_or(cursor, |e| e.seq);
    let cursor = match more {
        true => last,
        false => cursor.max(head).max(last),
    };
    Ok(Batch {
        events,
        cursor,
        more,
    })
}

/// The events of one subscription. Ends (returns `None`) when shutdown is cancelled; yields
/// an error, then ends, only when the log could not be read after several retries. Dropping
/// it stops its reader task.
#[derive(Debug)]
pub(crate) struct EventStream {
    inner: ReceiverStream<Result<Arc<Shared>>>,
}

impl Drop for EventStream {
    fn drop(&mut self) {
        crate::ops::metrics::stream_subscribers(-1.0);
    }
}

impl Stream for EventStream {
    type Item = Result<Arc<Shared>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(e))) = &next {
            let now = chrono::Utc::now().timestamp_millis();
            crate::ops::metrics::stream_lag((now - e.event.at_ms).max(0) as f64 / 1000.0);
        }
        next
    }
}

/// Subscribes with the default [`Options`].
pub(crate) async fn subscribe(
    store: &Store,
    hub: Option<&Hub>,
    shutdown: CancellationToken,
    filter: EventFilter,
    start: Start,
) -> Result<EventStream> {
    subscribe_with(store, hub, shutdown, filter, start, Options::default()).await
}

/// Subscribes: the starting cursor is fixed now (for [`Start::Now`], the log's head at this
/// call), then a reader task streams every later event that matches `filter`, in order.
///
/// A subscriber shares no buffer with anyone: its task takes the runs the hub broadcasts (one
/// read of the log for the whole process) and, when it is behind them (resuming, or too slow
/// for the hub's buffer), reads the log after its own cursor. When its consumer does not keep
/// up it simply stops reading. Writers never wait for subscribers, a slow subscriber never
/// delays another one, and nothing is dropped: the log is the buffer.
pub(crate) async fn subscribe_with(
    store: &Store,
    hub: Option<&Hub>,
    shutdown: CancellationToken,
    filter: EventFilter,
    start: Start,
    options: Options,
) -> Result<EventStream> {
    // Join the hub first: whatever it broadcasts from here on reaches us, and everything
    // before is in the log.
    let rx = hub.map(Hub::subscribe);
    let (head, pruned) = store.log_bounds().await?;
    let cursor = match start {
        // "The whole log" is what is still kept.
        Start::After(0) => pruned,
        Start::After(n) if n < pruned => return Err(pruned_error(n, pruned)),
        Start::After(n) => n,
        Start::Now => head,
    };
    let (tx, out) = mpsc::channel(options.buffer.max(1));
    let reader = Reader {
        wake: Some(store.bus().committed.subscribe()),
        store: store.clone(),
        hub: hub.cloned().zip(rx),
        filter,
        cursor,
        options,
        shutdown,
        tx,
    };
    tokio::spawn(reader.run());
    crate::ops::metrics::stream_subscribers(1.0);
    Ok(EventStream {
        inner: ReceiverStream::new(out),
    })
}

/// OUT_OF_RANGE for a resume after `after` when retention deleted the log through `pruned`.
fn pruned_error(after: i64, pruned: i64) -> crate::error::Error {
    crate::error::Error::OutOfRange {
        reason: crate::error::Reason::SequencePruned,
        message: format!(
            "events through sequence {pruned} were deleted by retention; the oldest kept is {} \
             (resume with after_sequence >= {pruned}, or read the current state)",
            pruned + 1
        ),
        metadata: vec![
            ("after_sequence".into(), after.to_string()),
            ("oldest_sequence".into(), (pruned + 1).to_string()),
        ],
    }
}

/// The per-subscriber task.
struct Reader {
    store: Store,
    /// The hub and this subscriber's receiver of its runs; `None` without a hub (or once the
    /// hub is gone): the log alone then.
    hub: Option<(Hub, broadcast::Receiver<Arc<Run>>)>,
    filter: EventFilter,
    cursor: i64,
    options: Options,
    shutdown: CancellationToken,
    tx: mpsc::Sender<Result<Arc<Shared>>>,
    /// `None` once the bus is gone: the task then relies on the poll interval alone.
    wake: Option<watch::Receiver<u64>>,
}

/// Why the task stops.
struct Stop;

/// How taking the hub's runs ended.
enum Live {
    /// The subscription is over.
    Stop,
    /// The cursor is behind the hub (a run was missed): read the log.
    Behind,
}

impl Reader {
    async fn run(mut self) {
        let mut failures = 0u32;
        loop {
            // Live from the hub when caught up with it.
            if let Some(published) = self.hub.as_ref().map(|(h, _)| h.published())
                && self.cursor >= published
            {
                match self.live().await {
                    Live::Stop => return,
                    Live::Behind => continue,
                }
            }
            // Wake-ups from here on are noticed by the wait below, even if they arrive
            // while the log is being read.
            if let Some(w) = self.wake.as_mut() {
                w.borrow_and_update();
            }
            // Retention may have deleted what this subscriber still had to read: say so
            // rather than skip it.
            if let Ok((_, pruned)) = self.store.log_bounds().await
                && self.cursor < pruned
            {
                let _ = self.send(Err(pruned_error(self.cursor, pruned))).await;
                return;
            }
            let read = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return,
                _ = self.tx.closed() => return,
                r = read_batch(&self.store, &self.filter, self.cursor, self.options.batch) => r,
            };
            match read {
                Ok(batch) => {
                    failures = 0;
                    for event in batch.events {
                        if self.send(Ok(Shared::new(event))).await.is_err() {
                            return;
                        }
                    }
                    self.cursor = batch.cursor;
                    if batch.more || self.hub.is_some() {
                        continue;
                    }
                    if self.wait().await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    failures += 1;
                    if failures >= self.options.max_failures {
                        tracing::error!(
                            error = %e,
                            cursor = self.cursor,
                            "event stream gives up reading the log"
                        );
                        let _ = self.send(Err(e)).await;
                        return;
                    }
                    let delay = retry_delay(failures, self.options.poll);
                    tracing::warn!(
                        error = %e,
                        cursor = self.cursor,
                        retry_in_ms = delay.as_millis() as u64,
                        "event stream read failed; retrying"
                    );
                    if self.pause(delay).await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Takes the hub's runs while they follow on from the cursor.
    async fn live(&mut self) -> Live {
        loop {
            let Some((_, rx)) = self.hub.as_mut() else {
                return Live::Behind;
            };
            let got = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return Live::Stop,
                _ = self.tx.closed() => return Live::Stop,
                r = rx.recv() => r,
                _ = tokio::time::sleep(self.options.poll) => return Live::Behind,
            };
            let run = match got {
                Ok(run) => run,
                // Too slow for the hub's buffer: the log has what was missed.
                Err(broadcast::error::RecvError::Lagged(_)) => return Live::Behind,
                Err(broadcast::error::RecvError::Closed) => {
                    self.hub = None;
                    return Live::Behind;
                }
            };
            if run.through <= self.cursor {
                continue;
            }
            if run.after > self.cursor {
                return Live::Behind;
            }
            for shared in run.events.iter().filter(|e| e.event.seq > self.cursor) {
                if self.filter.matches(&shared.event.event)
                    && self.send(Ok(shared.clone())).await.is_err()
                {
                    return Live::Stop;
                }
            }
            self.cursor = run.through;
        }
    }

    /// Hands one item to the consumer, waiting while its buffer is full.
    async fn send(&self, item: Result<Arc<Shared>>) -> Result<(), Stop> {
        tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => Err(Stop),
            r = self.tx.send(item) => r.map_err(|_| Stop),
        }
    }

    /// Caught up: waits for a wake-up, the poll interval, shutdown or the consumer leaving.
    async fn wait(&mut self) -> Result<(), Stop> {
        tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => Err(Stop),
            _ = self.tx.closed() => Err(Stop),
            _ = woken(&mut self.wake) => Ok(()),
            _ = tokio::time::sleep(self.options.poll) => Ok(()),
        }
    }

    /// Sleeps before a retry, unless shutdown comes first or the consumer leaves.
    async fn pause(&self, delay: Duration) -> Result<(), Stop> {
        tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => Err(Stop),
            _ = self.tx.closed() => Err(Stop),
            _ = tokio::time::sleep(delay) => Ok(()),
        }
    }
}

/// Resolves on the next wake-up; never, once the bus is gone (polling takes over).
async fn woken(wake: &mut Option<watch::Receiver<u64>>) {
    if let Some(w) = wake.as_mut() {
        if w.changed().await.is_ok() {
            return;
        }
        *wake = None;
    }
    std::future::pending::<()>().await
}

/// 200 ms, doubling per failure, at most five seconds or the poll interval if longer.
fn retry_delay(failures: u32, poll: Duration) -> Duration {
    let cap = poll.max(Duration::from_secs(5));
    Duration::from_millis(200)
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_up_to_a_cap() {
        let poll = Duration::from_secs(1);
        assert_eq!(retry_delay(1, poll), Duration::from_millis(200));
        assert_eq!(retry_delay(2, poll), Duration::from_millis(400));
        assert_eq!(retry_delay(40, poll), Duration::from_secs(5));
    }
}
