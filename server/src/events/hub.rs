//! The hub of one process: one task reads each newly sequenced run of the log once and hands it,
//! in memory, to every subscriber of the process. A subscriber that falls behind the hub's
//! buffer reads the log itself, so the hub never waits for anyone.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::shared::Shared;
use super::stream::read_batch;
use crate::domain::event::EventFilter;
use crate::store::Store;

/// Batches the hub keeps for subscribers that are a little behind.
const BUFFER: usize = 1024;
/// Events read per query.
const READ: u64 = 5_000;
/// The log is read at least this often even without a wake-up.
const POLL: Duration = Duration::from_secs(1);

/// A contiguous run of the log: every event with a sequence in `(after, through]`, each shared
/// by every subscriber (and encoded once for all of them).
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) after: i64,
    pub(crate) through: i64,
    pub(crate) events: Vec<Arc<Shared>>,
}

/// The hub of one process.
#[derive(Debug, Clone)]
pub(crate) struct Hub {
    tx: broadcast::Sender<Arc<Run>>,
    /// Everything up to here has been broadcast.
    published: Arc<AtomicI64>,
}

impl Hub {
    /// Starts the hub's reader at the log's current head; it stops with `shutdown`.
    pub(crate) async fn start(
        store: Store,
        shutdown: CancellationToken,
    ) -> crate::error::Result<(Hub, JoinHandle<()>)> {
        let head = store.last_event_seq().await?;
        let hub = Hub {
            tx: broadcast::channel(BUFFER).0,
            published: Arc::new(AtomicI64::new(head)),
        };
        let task = tokio::spawn(hub.clone().run(store, shutdown));
        Ok((hub, task))
    }

    /// A receiver of every run broadcast from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Run>> {
        self.tx.subscribe()
    }

    /// Everything up to this sequence has been broadcast.
    pub(crate) fn published(&self) -> i64 {
        self.published.load(Ordering::Acquire)
    }

    async fn run(self, store: Store, shutdown: CancellationToken) {
        let mut wake = store.bus().committed.subscribe();
        let all = EventFilter::default();
        loop {
            wake.borrow_and_update();
            let cursor = self.published();
            let read = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                r = read_batch(&store, &all, cursor, READ) => r,
            };
            match read {
                Ok(b) if b.cursor > cursor => {
                    let more = b.more;
                    let run = Arc::new(Run {
                        after: cursor,
                        through: b.cursor,
                        events: b.events.into_iter().map(Shared::new).collect(),
                    });
                    self.published.store(run.through, Ordering::Release);
                    // No receiver is fine: subscribers read the log until they join.
                    let _ = self.tx.send(run);
                    if more {
                        continue;
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the event hub could not read the log"),
            }
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                _ = wake.changed() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}
