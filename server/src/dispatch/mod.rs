//! Durable dispatch: one pump per page claims that page's due deliveries with their send slots
//! (one rate per page across every replica, see `store/pacing.rs`), sends each at its slot, and
//! hands the outcomes to a few completion writers that record them in batches.

mod db_clock;
mod outcome;
mod pump;

use std::{collections::HashMap, sync::Arc, time::Duration};

use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::DispatchSettings;
use crate::domain::outcome::Completed;
use crate::service::Deps;
use outcome::RetryPolicy;

/// Send slots are spaced for this share of a page's rate, so what a loaded machine adds to a
/// send (up to `max_lateness` late at the start, jitter on the way to Meta) cannot push a
/// one-second window past the limit: 0.985 × (1 s + 20 ms) = 1.005 s worth of sends, with
/// room left for the path's jitter within Meta's tolerance of 2%.
const PACE_MARGIN: f64 = 0.985;

/// Dispatch tuning.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DispatchConfig {
    /// Deliveries claimed per round, per page.
    pub(crate) batch: u64,
    /// Send API calls in flight at once, per page.
    pub(crate) concurrency: usize,
    /// How long a claim is held before another worker may take it over.
    pub(crate) lease: Duration,
    /// How often an idle pump looks for due deliveries (wake-ups come sooner).
    pub(crate) idle_poll: Duration,
    /// How long a page pauses after Meta rejects its access token or restricts it.
    pub(crate) page_pause: Duration,
    /// How far ahead send slots are claimed.
    pub(crate) horizon: Duration,
    /// How late after its slot a send may still start.
    pub(crate) max_lateness: Duration,
    /// Completion writers.
    pub(crate) completers: usize,
    pub(crate) retry: RetryPolicy,
}

impl From<&DispatchSettings> for DispatchConfig {
    fn from(d: &DispatchSettings) -> Self {
        let ms = Duration::from_millis;
        Self {
            batch: d.batch,
            concurrency: d.concurrency,
            lease: ms(d.lease_ms),
            idle_poll: ms(d.idle_poll_ms),
            page_pause: ms(d.page_pause_ms),
            horizon: ms(d.horizon_ms),
            max_lateness: ms(d.max_lateness_ms),
            completers: d.completers,
            retry: RetryPolicy {
                max_attempts: d.max_attempts,
                base: ms(d.backoff_base_ms),
                max: ms(d.backoff_max_ms),
            },
        }
    }
}

/// The dispatcher of one process.
pub(crate) struct Dispatcher {
    deps: Arc<Deps>,
    config: DispatchConfig,
    /// The database clock on this process's clock, shared by every pump.
    db_clock: db_clock::DbClock,
}

impl Dispatcher {
    /// A dispatcher over the store, pages and Graph client.
    pub(crate) fn new(deps: Arc<Deps>, config: DispatchConfig) -> Arc<Self> {
        Arc::new(Self {
            deps,
            config,
            db_clock: db_clock::DbClock::new(),
        })
    }

    /// Runs until `shutdown`; then stops claiming, lets in-flight sends finish, and records
    /// every outcome before returning.
    pub(crate) fn spawn(self: Arc<Self>, shutdown: CancellationToken) -> JoinHandle<()> {
        let (tx, rx) = mpsc::channel::<Completed>(self.config.batch as usize * 8);
        let writers = match self.deps.store().is_postgres() {
            true => self.config.completers,
            false => 1,
        };
        let rx = Arc::new(Mutex::new(rx));
        let completers: Vec<_> = (0..writers)
            .map(|_| tokio::spawn(complete_loop(self.deps.clone(), rx.clone())))
            .collect();
        tokio::spawn(async move {
            self.supervise(tx, shutdown).await;
            for c in completers {
                if let Err(e) = c.await {
                    tracing::error!(error = %e, "completion task failed");
                }
            }
        })
    }

    /// Keeps one pump per configured page (pages come and go with the configuration); returns
    /// when every pump has stopped after `shutdown`.
    async fn supervise(self: Arc<Self>, tx: mpsc::Sender<Completed>, shutdown: CancellationToken) {
        let mut pumps: HashMap<String, (CancellationToken, JoinHandle<()>)> = HashMap::new();
        loop {
            let pages: Vec<String> = self
                .deps
                .pages()
                .all()
                .iter()
                .map(|p| p.page_id.clone())
                .collect();
            pumps.retain(|page, (stop, _)| {
                let keep = pages.contains(page);
                if !keep {
                    stop.cancel();
                }
                keep
            });
            for page in pages {
                pumps.entry(page.clone()).or_insert_with(|| {
                    let stop = shutdown.child_token();
                    let pump = pump::Pump::new(self.clone(), page, tx.clone());
                    (stop.clone(), tokio::spawn(pump.run(stop)))
                });
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
        for (_, (_, pump)) in pumps {
            let _ = pump.await;
        }
    }
}

/// Records one batch of outcomes in one transaction, which this use case owns.
async fn record(
    deps: &Deps,
    batch: &[Completed],
) -> crate::error::Result<Vec<(usize, crate::domain::vocab::DeliveryState)>> {
    let store = deps.store();
    let mut w = store.write().await?;
    let finished = store.complete_in(&mut w, batch, deps.now()).await?;
    w.commit().await?;
    Ok(finished)
}

/// Records outcomes in batches: whatever has arrived (up to 512) goes in one transaction.
async fn complete_loop(deps: Arc<Deps>, rx: Arc<Mutex<mpsc::Receiver<Completed>>>) {
    let mut batch = Vec::with_capacity(512);
    loop {
        let n = rx.lock().await.recv_many(&mut batch, 512).await;
        if n == 0 {
            return;
        }
        loop {
            match record(&deps, &batch).await {
                Ok(finished) => {
                    for (i, state) in finished {
                        let name = crate::ops::metrics::finished_state(state);
                        crate::ops::metrics::delivery_finished(&batch[i].claimed.page_id, name);
                    }
                    break;
                }
                Err(e) => {
                    // The claims stay leased; if this process dies they are retried as
                    // ambiguous, which the grant tokens make safe.
                    tracing::error!(error = %e, n = batch.len(), "recording outcomes failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        batch.clear();
    }
}
