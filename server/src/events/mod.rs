//! The event log's live side: subscriber streams that read the durable log after their cursor,
//! woken by the store's commit wake-ups.

pub(crate) mod stream;

use tokio_util::sync::CancellationToken;

use crate::domain::event::EventFilter;
use crate::error::Result;
use crate::store::Store;
use stream::{EventStream, Start};

/// Subscriptions to the event log.
#[derive(Debug, Clone)]
pub(crate) struct Events {
    store: Store,
}

impl Events {
    /// Subscriptions over `store`'s log.
    pub(crate) fn new(store: Store) -> Self {
        Self { store }
    }

    /// Every event after `start` that matches `filter`, from the log, then live, until
    /// `shutdown`.
    pub(crate) async fn subscribe(
        &self,
        shutdown: CancellationToken,
        filter: EventFilter,
        start: Start,
    ) -> Result<EventStream> {
        stream::subscribe(&self.store, shutdown, filter, start).await
    }
}
