//! Wake-ups of the event log, in this process and (through PostgreSQL NOTIFY) across replicas.
//! A wake-up carries no event: who wakes reads the durable log, so a missed or merged wake-up
//! loses nothing. One kind: "events were committed" (the log's head moved); subscribers read
//! the log, and pumps look for deliveries a send just queued.

use tokio::sync::watch;

/// The channel NOTIFY uses for committed events; the payload is the new head.
pub(crate) const PG_SEQUENCED: &str = "otn_events";
/// The channel of replicas of an older version, which appended events unnumbered: still
/// listened to during a rolling upgrade (their events then wait for [`super::Store::sequence`]).
pub(crate) const PG_APPENDED: &str = "otn_appended";

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
    /// Events were committed: the log's head moved.
    pub(crate) committed: Wake,
    /// Events were appended unnumbered by an older replica: the upgrade sequencer numbers them.
    pub(crate) legacy_appended: Wake,
}

impl EventBus {
    /// A bus with no subscribers yet.
    pub(crate) fn new() -> Self {
        Self {
            committed: Wake::new(),
            legacy_appended: Wake::new(),
        }
    }
}
