//! Wake-ups of the event log, in this process and (through PostgreSQL NOTIFY) across replicas.
//! A wake-up carries no event: who wakes reads the durable log, so a missed or merged wake-up
//! loses nothing. There are two: "events were appended" (the sequencer numbers them) and "events
//! were sequenced" (subscribers read them).

use tokio::sync::watch;

/// The channel NOTIFY uses for appended, not yet numbered events.
pub(crate) const PG_APPENDED: &str = "otn_appended";
/// The channel NOTIFY uses for sequenced events; the payload is the new head.
pub(crate) const PG_SEQUENCED: &str = "otn_events";

/// One kind of wake-up.
#[derive(Debug, Clone)]
pub(crate) struct Wake {
    tx: watch::Sender<u64>,
}

impl Wake {
    fn new() -> Self {
        Self {
            tx: watch::channel(0).0,
        }
    }

    /// Wakes every receiver.
    pub(crate) fn wake(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes on every wake-up.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }
}

/// The wake-ups of the event log.
#[derive(Debug, Clone)]
pub(crate) struct EventBus {
    /// Events were appended (their transaction committed).
    pub(crate) appended: Wake,
    /// Events were numbered: the log's head moved.
    pub(crate) sequenced: Wake,
}

impl EventBus {
    /// A bus with no subscribers yet.
    pub(crate) fn new() -> Self {
        Self {
            appended: Wake::new(),
            sequenced: Wake::new(),
        }
    }
}
