//! Following a notification to its end: delivery progress, and a stream of its changes until it is final.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use otn::v1::{self as pb, NotificationState};

use crate::client::Client;
use crate::error::Error;

/// Whether a notification will not change any more: completed, cancelled, or a dry run.
pub fn is_final(n: &pb::Notification) -> bool {
    matches!(
        NotificationState::try_from(n.state),
        Ok(NotificationState::Completed
            | NotificationState::Cancelled
            | NotificationState::Planned)
    )
}

/// Where a notification's deliveries are, in the terms a person follows: how many were sent
/// (accepted by Meta), delivered (to the device, read included), failed (certainly not
/// delivered) and unconfirmed (given up with their outcome unknown), of the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Deliveries in all.
    pub total: u64,
    /// Accepted by Meta (delivered and read included).
    pub sent: u64,
    /// Delivered to the device (read included).
    pub delivered: u64,
    /// Read.
    pub read: u64,
    /// Given up.
    pub failed: u64,
    /// Cancelled before being sent.
    pub cancelled: u64,
    /// Given up after an attempt that may have reached Meta, with no evidence either way.
    pub unconfirmed: u64,
    /// Still queued or being sent.
    pub pending: u64,
}

impl Progress {
    /// The progress of `n` from its delivery counts.
    pub fn of(n: &pb::Notification) -> Progress {
        let c = n.counts.unwrap_or_default();
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        let (queued, sending, sent, delivered, read) = (
            u(c.queued),
            u(c.sending),
            u(c.sent),
            u(c.delivered),
            u(c.read),
        );
        let (failed, cancelled, unconfirmed) = (u(c.failed), u(c.cancelled), u(c.unconfirmed));
        Progress {
            total: queued + sending + sent + delivered + read + failed + cancelled + unconfirmed,
            sent: sent + delivered + read,
            delivered: delivered + read,
            read,
            failed,
            cancelled,
            unconfirmed,
            pending: queued + sending,
        }
    }

    /// Deliveries that reached an end: sent, failed, cancelled or unconfirmed.
    pub fn done(&self) -> u64 {
        self.sent + self.failed + self.cancelled + self.unconfirmed
    }
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sent {} · delivered {} · failed {} of {}",
            self.sent, self.delivered, self.failed, self.total
        )?;
        if self.cancelled > 0 {
            write!(f, " · cancelled {}", self.cancelled)?;
        }
        if self.unconfirmed > 0 {
            write!(f, " · unconfirmed {}", self.unconfirmed)?;
        }
        Ok(())
    }
}

/// The successive states of one notification, each different from the one before, ending
/// with the first final one.
pub struct NotificationWatch {
    inner: Pin<Box<dyn Stream<Item = Result<pb::Notification, Error>> + Send>>,
}

impl std::fmt::Debug for NotificationWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NotificationWatch")
    }
}

impl Stream for NotificationWatch {
    type Item = Result<pb::Notification, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

struct Watch {
    client: Client,
    id: String,
    every: Duration,
    last: Option<pb::Notification>,
    done: bool,
}

async fn poll(mut w: Watch) -> Option<(Result<pb::Notification, Error>, Watch)> {
    if w.done {
        return None;
    }
    loop {
        let first = w.last.is_none();
        if !first {
            tokio::time::sleep(w.every).await;
        }
        let n = match w.client.get_notification(w.id.clone()).await {
            Ok(n) => n,
            Err(e) => {
                w.done = true;
                return Some((Err(e), w));
            }
        };
        let changed = w
            .last
            .as_ref()
            .is_none_or(|l| l.state != n.state || l.counts != n.counts);
        if changed {
            w.done = is_final(&n);
            w.last = Some(n.clone());
            return Some((Ok(n), w));
        }
    }
}

impl Client {
    /// Follows a notification: yields it now, then each time its state or counts change
    /// (checked every `every`), and ends after it is final. An error ends the stream.
    pub fn follow_notification(
        &self,
        notification_id: impl Into<String>,
        every: Duration,
    ) -> NotificationWatch {
        let w = Watch {
            client: self.clone(),
            id: notification_id.into(),
            every,
            last: None,
            done: false,
        };
        NotificationWatch {
            inner: Box::pin(futures::stream::unfold(w, poll)),
        }
    }

    /// Waits until a notification is final and returns it.
    pub async fn wait_final(
        &self,
        notification_id: impl Into<String>,
        every: Duration,
    ) -> Result<pb::Notification, Error> {
        use futures::StreamExt;
        let mut watch = self.follow_notification(notification_id, every);
        let mut last = None;
        while let Some(n) = watch.next().await {
            last = Some(n?);
        }
        last.ok_or_else(|| Error::from(tonic::Status::internal("the watch ended empty")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_receipts_as_sent() {
        let n = pb::Notification {
            state: NotificationState::Dispatching as i32,
            counts: Some(pb::DeliveryCounts {
                queued: 1,
                sending: 1,
                sent: 2,
                delivered: 3,
                read: 4,
                failed: 5,
                cancelled: 6,
                unconfirmed: 7,
            }),
            ..Default::default()
        };
        let p = Progress::of(&n);
        assert_eq!((p.total, p.sent, p.delivered, p.read), (29, 9, 7, 4));
        assert_eq!((p.failed, p.cancelled, p.pending, p.done()), (5, 6, 2, 27));
        assert_eq!(p.unconfirmed, 7);
        assert_eq!(
            p.to_string(),
            "sent 9 · delivered 7 · failed 5 of 29 · cancelled 6 · unconfirmed 7"
        );
        assert!(!is_final(&n));
    }

    #[test]
    fn completed_cancelled_and_planned_are_final() {
        for s in [
            NotificationState::Completed,
            NotificationState::Cancelled,
            NotificationState::Planned,
        ] {
            let n = pb::Notification {
                state: s as i32,
                ..Default::default()
            };
            assert!(is_final(&n), "{s:?}");
        }
    }
}
