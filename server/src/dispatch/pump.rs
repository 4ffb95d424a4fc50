//! The pump of one page: claims the page's due deliveries only when their send slots are near
//! (pacing before claiming, so a claimed delivery never waits long and holds nothing another
//! page needs), sends each at its slot, and reports the outcome.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::outcome::{self, PageAction};
use super::{Dispatcher, PACE_MARGIN};
use crate::domain::event::Failure;
use crate::domain::outcome::{Claimed, Completed, GrantAfter, Outcome};
use crate::domain::polite::Signal;
use crate::messenger::wire;
use crate::ops::metrics;
use tracing::Instrument;

/// After a claim that found nothing due, the pump waits at least this long before the next
/// (wake-ups come with every commit; this keeps an idle page's claims cheap).
const DEBOUNCE: Duration = Duration::from_millis(10);
/// A paused page looks again at least this often (a pause can be lifted early).
const PAUSED_POLL: Duration = Duration::from_secs(1);

/// One page's pump.
pub(super) struct Pump {
    d: Arc<Dispatcher>,
    page: String,
    tx: mpsc::Sender<Completed>,
}

fn micros(us: i64) -> Duration {
    Duration::from_micros(us.max(0) as u64)
}

impl Pump {
    pub(super) fn new(d: Arc<Dispatcher>, page: String, tx: mpsc::Sender<Completed>) -> Self {
        Self { d, page, tx }
    }

    /// Runs until `stop`, then waits for the sends in flight.
    pub(super) async fn run(self, stop: CancellationToken) {
        let cfg = self.d.config;
        let permits = Arc::new(Semaphore::new(cfg.concurrency));
        let mut wake = self.d.deps.store().bus().committed.subscribe();
        let me = Arc::new(self);
        let mut refill = 1;
        while !stop.is_cancelled() {
            wake.borrow_and_update();
            let Ok(page) = me.d.deps.pages().get(&me.page) else {
                break;
            };
            // Claim in batches: while a backlog lasts, wait until half a batch of permits is
            // free (each claim is a transaction; one per freed permit would bound the rate).
            let free = permits.available_permits() as u64;
            if free < refill {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    p = permits.acquire_many(refill as u32) => drop(p),
                }
                continue;
            }
            let interval_us =
                (1_000_000.0 / (f64::from(page.rate_limit_per_sec) * PACE_MARGIN)).ceil() as i64;
            let want = free.min(cfg.batch);
            let before = Instant::now();
            let claim =
                me.d.deps
                    .store()
                    .claim_page(
                        &me.page,
                        interval_us,
                        cfg.horizon.as_micros() as i64,
                        want,
                        cfg.lease.as_millis() as i64,
                        me.d.deps.now(),
                    )
                    .await;
            let after = Instant::now();
            let claim = match claim {
                Ok(c) => {
                    me.d.db_clock.sample(before, after, c.now_us);
                    c
                }
                Err(e) => {
                    tracing::error!(page_id = me.page, error = %e, "claiming deliveries failed");
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(cfg.idle_poll) => continue,
                    }
                }
            };
            if claim.claimed.is_empty() {
                let idle = match (&claim.paused, claim.wait_until_us) {
                    (Some(_), Some(until)) => micros(until - claim.now_us).min(PAUSED_POLL),
                    (None, Some(until)) => micros(until - claim.now_us),
                    _ => cfg.idle_poll,
                };
                let woken = claim.wait_until_us.is_none();
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(idle) => {}
                    _ = wake.changed(), if woken => tokio::time::sleep(DEBOUNCE).await,
                }
                continue;
            }
            let full = claim.claimed.len() as u64 == want;
            for (c, slot) in claim.claimed.into_iter().zip(claim.slots_us) {
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    break;
                };
                let at = me.d.db_clock.instant_of(slot, after, claim.now_us);
                tokio::spawn(me.clone().send(c, at, permit, stop.clone()));
            }
            refill = match full {
                true => (cfg.batch.min(cfg.concurrency as u64) / 2).max(1),
                false => 1,
            };
            if !full {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(DEBOUNCE) => {}
                }
            }
        }
        // Wait for the sends in flight; their outcomes reach the completers before they stop.
        let _ = permits.acquire_many(cfg.concurrency as u32).await;
    }

    async fn send(
        self: Arc<Self>,
        c: Claimed,
        at: Instant,
        permit: OwnedSemaphorePermit,
        stop: CancellationToken,
    ) {
        let done = self.attempt(c, at, &stop).await;
        let _ = self.tx.send(done).await;
        drop(permit);
    }

    async fn attempt(&self, c: Claimed, at: Instant, stop: &CancellationToken) -> Completed {
        let deps = &self.d.deps;
        let cfg = self.d.config;
        let reusable = c
            .grant
            .as_ref()
            .is_some_and(|g| deps.policy().reusable(g.kind));
        let done = |claimed, outcome| Completed {
            claimed,
            outcome,
            reusable,
        };
        // Everything but the call itself is ready before the slot, so the call leaves on time.
        let Ok(page) = deps.pages().get(&c.page_id) else {
            let later = deps.now() + 60_000;
            return done(c, Outcome::Requeue { at_ms: later });
        };
        let body = match wire::send_body(&c) {
            Ok(mut b) => {
                // A tracked page's web_url buttons become this delivery's signed links.
                if let Some(links) = deps.links() {
                    links.rewrite(&mut b["message"], &c.page_id, c.id);
                }
                b
            }
            Err(why) => {
                let failure = Failure {
                    reason: "UNSENDABLE".into(),
                    code: 0,
                    subcode: 0,
                    message: format!("the delivery cannot be sent: {why:?}"),
                };
                let outcome = Outcome::given_up(c.ambiguous, failure, GrantAfter::Release);
                return done(c, outcome);
            }
        };
        tokio::select! {
            _ = tokio::time::sleep_until(at) => {}
            _ = stop.cancelled() => return done(c, Outcome::Requeue { at_ms: deps.now() }),
        }
        // Too late for its slot: sending now could crowd a one-second window. A new slot.
        if Instant::now() > at + cfg.max_lateness {
            tracing::debug!(page_id = self.page, "send slot missed; requeued");
            return done(c, Outcome::Requeue { at_ms: deps.now() });
        }
        let started = deps.now();
        metrics::due_to_send(&self.page, ((started - c.due_ms).max(0)) as f64 / 1000.0);
        let span = crate::telemetry::span_from(c.trace_parent.as_deref(), "send_api_call");
        let clock = std::time::Instant::now();
        let result = deps
            .graph()
            .send(&page.access_token, &body)
            .instrument(span)
            .await;
        let (outcome_name, code) = match &result {
            Ok(_) => ("accepted".to_string(), "0".to_string()),
            Err(e) => (
                deps.classifier().class(e).reason().to_lowercase(),
                match e.codes() {
                    (0, _) => "transport".to_string(),
                    (code, _) => code.to_string(),
                },
            ),
        };
        metrics::send_api(
            &self.page,
            &outcome_name,
            &code,
            clock.elapsed().as_secs_f64(),
        );
        // A person who blocked the page is negative feedback for its circuit breaker (counted
        // aside, so the outcome is recorded without waiting for it).
        if let Err(e) = &result
            && let Some(signal) = Signal::of_refusal(e.codes().0, e.codes().1)
        {
            let (deps, page) = (self.d.deps.clone(), self.page.clone());
            tokio::spawn(async move {
                if let Err(e) = deps.signal(&page, signal).await {
                    tracing::error!(page_id = page, error = %e, "could not count a block");
                }
            });
        }
        let (outcome, action) = outcome::decide(
            &c,
            result,
            deps.classifier(),
            &cfg.retry,
            deps.now(),
            started,
            cfg.page_pause,
            reusable,
        );
        self.apply(action).await;
        done(c, outcome)
    }

    /// Tells every replica what Meta said about the page.
    async fn apply(&self, action: PageAction) {
        let store = self.d.deps.store();
        let r = match action {
            PageAction::None => return,
            PageAction::Pause(d, reason) => {
                tracing::warn!(
                    page_id = self.page,
                    reason,
                    pause_ms = d.as_millis() as u64,
                    "page paused"
                );
                store
                    .pause_page(&self.page, Some(d.as_millis() as i64), reason)
                    .await
            }
            PageAction::Slow(d) => {
                tracing::warn!(
                    page_id = self.page,
                    slow_ms = d.as_millis() as u64,
                    "page slowed"
                );
                store.slow_page(&self.page, d.as_micros() as i64).await
            }
        };
        if let Err(e) = r {
            tracing::error!(page_id = self.page, error = %e, "could not share the page's pause");
        }
    }
}
