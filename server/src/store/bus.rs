//! Wake-ups for event subscribers. A wake-up carries no event: subscribers read the durable
//! log after their last sequence number, so a missed or merged wake-up loses nothing.

use tokio::sync::watch;

/// The channel PostgreSQL NOTIFY uses; the payload is the committed sequence number.
pub(crate) const PG_CHANNEL: &str = "otn_events";

/// Wakes subscribers when events are committed.
#[derive(Debug, Clone)]
pub(crate) struct EventBus {
    tx: watch::Sender<u64>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A bus with no subscribers yet.
    pub(crate) fn new() -> Self {
        Self {
            tx: watch::channel(0).0,
        }
    }

    /// Called after a commit that appended events (or when another replica did).
    pub(crate) fn wake(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes on every wake-up.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }
}
