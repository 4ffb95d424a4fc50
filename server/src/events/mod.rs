//! The event log's live side: the hub that reads each new run once per process, the subscriber
//! streams fed by it, and the upgrade sequencer for events older replicas left unnumbered.

pub(crate) mod hub;
pub(crate) mod sequencer;
pub(crate) mod shared;
pub(crate) mod stream;

use tokio_util::sync::CancellationToken;

use crate::domain::event::EventFilter;
use crate::error::Result;
use crate::store::Store;
use hub::Hub;
use stream::{EventStream, Start};

/// Subscriptions to the event log.
#[derive(Debug, Clone)]
pub(crate) struct Events {
    store: Store,
    hub: Hub,
}

impl Events {
    /// Subscriptions over `store`'s log, fed by `hub`.
    pub(crate) fn new(store: Store, hub: Hub) -> Self {
        Self { store, hub }
    }

    /// Every event after `start` that matches `filter`, from the log, then live, until
    /// `shutdown`.
    pub(crate) async fn subscribe(
        &self,
        shutdown: CancellationToken,
        filter: EventFilter,
        start: Start,
    ) -> Result<EventStream> {
        stream::subscribe(&self.store, Some(&self.hub), shutdown, filter, start).await
    }
}
