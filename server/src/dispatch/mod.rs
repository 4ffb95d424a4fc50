//! Durable dispatch: workers claim due deliveries under leases, send them through the per-page
//! limiter with bounded concurrency, and record outcomes in batches.

mod limiter;
mod outcome;

use std::{collections::HashMap, sync::Arc, time::Duration};

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::DispatchSettings;
use crate::domain::event::Failure;
use crate::domain::outcome::{Claimed, Completed, GrantAfter, Outcome};
use crate::messenger::wire;
use crate::service::Deps;
use limiter::Limiters;
use outcome::{PageAction, RetryPolicy};

/// Dispatch tuning.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DispatchConfig {
    /// Deliveries claimed per round.
    pub(crate) batch: u64,
    /// Send API calls in flight at once (all pages).
    pub(crate) concurrency: usize,
    /// How long a claim is held before another worker may take it over.
    pub(crate) lease: Duration,
    /// How often an idle worker looks for due deliveries (wake-ups come sooner).
    pub(crate) idle_poll: Duration,
    /// How long a page pauses after Meta rejects its access token.
    pub(crate) page_pause: Duration,
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
    limiters: Limiters,
    paused: std::sync::Mutex<HashMap<String, i64>>,
}

impl Dispatcher {
    /// A dispatcher over the store, pages and Graph client.
    pub(crate) fn new(deps: Arc<Deps>, config: DispatchConfig) -> Arc<Self> {
        let limiters = Limiters::new(
            deps.pages()
                .all()
                .iter()
                .map(|p| (p.page_id.clone(), p.rate_limit_per_sec)),
        );
        Arc::new(Self {
            deps,
            config,
            limiters,
            paused: Default::default(),
        })
    }

    fn paused_pages(&self, now_ms: i64) -> Vec<String> {
        let mut paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        paused.retain(|_, until| *until > now_ms);
        paused.keys().cloned().collect()
    }

    fn pause(&self, page_id: &str, d: Duration) {
        let until = self.deps.now() + d.as_millis() as i64;
        tracing::warn!(page_id, pause_ms = d.as_millis() as u64, "page paused");
        let mut paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        paused.insert(page_id.to_string(), until);
    }

    /// Runs until `shutdown`; then stops claiming, lets in-flight sends finish, and records
    /// every outcome before returning.
    pub(crate) fn spawn(self: Arc<Self>, shutdown: CancellationToken) -> JoinHandle<()> {
        let (tx, rx) = mpsc::channel::<Completed>(self.config.concurrency * 4);
        let completer = tokio::spawn(complete_loop(self.deps.clone(), rx));
        tokio::spawn(async move {
            self.claim_loop(tx, shutdown).await;
            if let Err(e) = completer.await {
                tracing::error!(error = %e, "completion task failed");
            }
        })
    }

    async fn claim_loop(self: Arc<Self>, tx: mpsc::Sender<Completed>, shutdown: CancellationToken) {
        let permits = Arc::new(Semaphore::new(self.config.concurrency));
        let mut wake = self.deps.store().bus().subscribe();
        while !shutdown.is_cancelled() {
            let free = permits.available_permits() as u64;
            let now = self.deps.now();
            let claimed = if free == 0 {
                Vec::new()
            } else {
                let lease = self.config.lease.as_millis() as i64;
                match self
                    .deps
                    .store()
                    .claim(
                        now,
                        lease,
                        free.min(self.config.batch),
                        &self.paused_pages(now),
                    )
                    .await
                {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::error!(error = %e, "claiming deliveries failed");
                        Vec::new()
                    }
                }
            };
            let full = claimed.len() as u64 == free.min(self.config.batch) && free > 0;
            for c in claimed {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let me = self.clone();
                let tx = tx.clone();
                let stop = shutdown.clone();
                tokio::spawn(async move {
                    let done = me.send_one(c, &stop).await;
                    let _ = tx.send(done).await;
                    drop(permit);
                });
            }
            if full {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = wake.changed() => {}
                _ = tokio::time::sleep(self.config.idle_poll) => {}
                _ = permits.acquire() , if free == 0 => {}
            }
        }
        // Wait for in-flight sends; their outcomes reach the completer before it stops.
        let _ = permits.acquire_many(self.config.concurrency as u32).await;
    }

    async fn send_one(&self, c: Claimed, shutdown: &CancellationToken) -> Completed {
        let reusable = c
            .grant
            .as_ref()
            .is_some_and(|g| self.deps.policy().reusable(g.kind));
        let now = || self.deps.now();
        let (Ok(page), Some(limiter)) = (
            self.deps.pages().get(&c.page_id),
            self.limiters.get(&c.page_id),
        ) else {
            let outcome = Outcome::Requeue {
                at_ms: now() + 60_000,
            };
            return Completed {
                claimed: c,
                outcome,
                reusable,
            };
        };
        tokio::select! {
            _ = limiter.acquire() => {}
            _ = shutdown.cancelled() => {
                return Completed { claimed: c, outcome: Outcome::Requeue { at_ms: now() }, reusable };
            }
        }
        let body = match wire::send_body(&c) {
            Ok(b) => b,
            Err(why) => {
                let failure = Failure {
                    reason: "UNSENDABLE".into(),
                    code: 0,
                    subcode: 0,
                    message: format!("the delivery cannot be sent: {why:?}"),
                };
                return Completed {
                    claimed: c,
                    outcome: Outcome::Failed {
                        failure,
                        grant: GrantAfter::Release,
                    },
                    reusable,
                };
            }
        };
        let result = self.deps.graph().send(&page.access_token, &body).await;
        let (outcome, action) = outcome::decide(
            &c,
            result,
            self.deps.classifier(),
            &self.config.retry,
            now(),
            self.config.page_pause,
        );
        if let PageAction::Pause(d) = action {
            self.pause(&c.page_id, d);
        }
        Completed {
            claimed: c,
            outcome,
            reusable,
        }
    }
}

/// Records outcomes in batches: whatever has arrived (up to 512) goes in one transaction.
async fn complete_loop(deps: Arc<Deps>, mut rx: mpsc::Receiver<Completed>) {
    let mut batch = Vec::with_capacity(512);
    while rx.recv_many(&mut batch, 512).await > 0 {
        loop {
            match deps.store().complete(&batch, deps.now()).await {
                Ok(()) => break,
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
