//! The planner: queues a notification's deliveries chunk by chunk (each chunk read, decided by
//! the domain, then applied in one short transaction that moves a stored cursor), so a send of
//! any size stores its intent at once and starts sending while later chunks are planned. A
//! SendNotification plans inline for a short budget; every replica's planner task finishes
//! what is left, crash-safe and resumable from the cursor. A dry run plans the same chunks in
//! memory.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Deps;
use crate::domain::notification::{Notification, PlanCounts};
use crate::domain::planning::{ChunkPlan, Cursor, Scanned, Spec, first_grants, merge, room, sweep};
use crate::error::Result;
use crate::store::{Applied, Who};

/// Usable grants read per chunk of the opt-in-order scan.
const SCAN_CHUNK: u64 = 1_000;
/// People decided per chunk of the sweep.
const SWEEP_CHUNK: u64 = 500;
/// Chunks a call plans inline however long they take (up to 1,500 people with the sweep's
/// 500), before its time budget may end inline planning.
const INLINE_CHUNKS: u32 = 3;
/// Notifications a planner task looks at per round.
const ROUND: u64 = 32;
/// A planner task looks for unfinished planning at least this often.
const POLL: Duration = Duration::from_millis(500);

/// Where a chunk's decisions go: the store (a real send), or memory (a dry run).
enum Sink {
    Store,
    Dry {
        queued: HashSet<i64>,
        counts: PlanCounts,
    },
}

impl Sink {
    fn queued_so_far(&self, stored: &PlanCounts) -> u64 {
        let c = match self {
            Sink::Store => stored,
            Sink::Dry { counts, .. } => counts,
        };
        (c.grant_sends + c.window_sends + c.tag_sends).max(0) as u64
    }
}

/// The planner of this process.
#[derive(Debug, Clone)]
pub(crate) struct Planner {
    deps: Arc<Deps>,
    wake: Arc<Notify>,
    /// How long a call plans inline.
    inline: Duration,
}

impl Planner {
    /// A planner over `deps`; a call plans inline for `inline`.
    pub(crate) fn new(deps: Arc<Deps>, inline: Duration) -> Self {
        Self {
            deps,
            wake: Arc::new(Notify::new()),
            inline,
        }
    }

    /// Plans `n` until it is planned, or the inline budget has passed and at least
    /// [`INLINE_CHUNKS`] chunks were planned (so a small send is always answered planned,
    /// whatever the machine's load); the rest is left to the planner tasks, woken now. A zero
    /// budget plans nothing inline. Returns whether planning finished.
    pub(crate) async fn plan_for(&self, n: &Notification) -> Result<bool> {
        let done = match self.inline.is_zero() {
            true => false,
            false => {
                let until = Instant::now() + self.inline;
                self.plan_until(&n.id, Some(until), INLINE_CHUNKS, None)
                    .await?
            }
        };
        if !done {
            self.wake.notify_one();
        }
        Ok(done)
    }

    /// The plan of a dry run: every chunk decided in memory, nothing stored or reserved.
    pub(crate) async fn dry_run(&self, n: &Notification, spec: &Spec) -> Result<PlanCounts> {
        let mut sink = Sink::Dry {
            queued: HashSet::new(),
            counts: PlanCounts::default(),
        };
        let mut cursor = Cursor::start(&spec.ask(n.scheduled_ms));
        while cursor != Cursor::Done {
            let (chunk, next) = self.chunk(n, spec, cursor, &sink).await?;
            if let Sink::Dry { queued, counts } = &mut sink {
                queued.extend(chunk.deliveries.iter().map(|d| d.recipient_id));
                merge(counts, &chunk.counts);
            }
            cursor = next;
        }
        Ok(match sink {
            Sink::Dry { counts, .. } => counts,
            Sink::Store => PlanCounts::default(),
        })
    }

    /// Plans chunks of notification `id` until its planning is finished (true), or `until`
    /// has passed with at least `at_least` chunks applied, or `stop` is cancelled (false).
    async fn plan_until(
        &self,
        id: &str,
        until: Option<Instant>,
        at_least: u32,
        stop: Option<&CancellationToken>,
    ) -> Result<bool> {
        let store = self.deps.store();
        let mut applied = 0u32;
        loop {
            let late = until.is_some_and(|u| Instant::now() >= u) && applied >= at_least;
            if late || stop.is_some_and(|s| s.is_cancelled()) {
                return Ok(false);
            }
            applied += 1;
            let (Some((cursor, spec)), Some(n)) = (
                store.plan_position(id).await?,
                store.notification(id).await?,
            ) else {
                return Ok(true);
            };
            if cursor == Cursor::Done {
                return Ok(true);
            }
            let (chunk, next) = self.chunk(&n, &spec, cursor, &Sink::Store).await?;
            // The planner owns the chunk's transaction; the store applies its statements.
            let mut w = store.write().await?;
            match store
                .apply_plan_chunk(&mut w, &n, &cursor, &next, chunk, self.deps.now())
                .await?
            {
                Applied::Queued(_) => w.commit().await?,
                // Another planner applied this chunk first: read again.
                Applied::Moved => drop(w),
                Applied::Closed => {
                    drop(w);
                    store.stop_planning(&n.id).await?;
                    return Ok(true);
                }
            }
        }
    }

    /// Reads and decides the chunk at `cursor`; the chunk and the cursor after it.
    async fn chunk(
        &self,
        n: &Notification,
        spec: &Spec,
        cursor: Cursor,
        sink: &Sink,
    ) -> Result<(ChunkPlan, Cursor)> {
        let store = self.deps.store();
        let now = self.deps.now();
        let ask = spec.ask(n.scheduled_ms);
        let policy = self.deps.policy();
        let page = n.page_id.as_str();
        let topic = store
            .topic_id(
                &crate::domain::values::PageId::parse("page_id", page)?,
                &crate::domain::values::TopicKey::parse("topic_key", &n.topic_key)?,
            )
            .await?;
        let room = room(&ask, sink.queued_so_far(&n.plan));
        let queued = |ids: Vec<i64>| async move {
            match sink {
                Sink::Store => store.queued_among(&n.id, &ids).await,
                Sink::Dry { queued, .. } => {
                    Ok(ids.into_iter().filter(|i| queued.contains(i)).collect())
                }
            }
        };
        match cursor {
            Cursor::FirstGrants { after } => {
                let Some(topic_id) = topic else {
                    return Ok((ChunkPlan::default(), Cursor::Sweep { after: -1 }));
                };
                let only = match &spec.named {
                    Some(named) => Some(store.recipient_ids(page, named).await?),
                    None => None,
                };
                let scanned = store
                    .usable_in_opt_in_order(topic_id, only.as_deref(), after, SCAN_CHUNK, now)
                    .await?;
                let ids: Vec<i64> = distinct(scanned.iter().map(|s| s.recipient_id));
                let mut found = store
                    .candidates(page, topic, &spec.tags, &spec.regions, Who::Ids(&ids))
                    .await?;
                self.with_times(page, &ask, &mut found, now).await?;
                let people: HashMap<i64, _> =
                    found.into_iter().map(|c| (c.recipient_id, c)).collect();
                let already = queued(ids).await?;
                let left = room.unwrap_or(u64::MAX);
                let chunk = first_grants(policy, &scanned, &people, &already, left, &ask, now);
                let next = match scanned.last() {
                    Some(Scanned {
                        grant_id,
                        opted_in_ms,
                        ..
                    }) if (scanned.len() as u64) == SCAN_CHUNK
                        && (chunk.deliveries.len() as u64) < left =>
                    {
                        Cursor::FirstGrants {
                            after: (*opted_in_ms, *grant_id),
                        }
                    }
                    _ => Cursor::Sweep { after: -1 },
                };
                Ok((chunk, next))
            }
            Cursor::Sweep { after } => {
                let (candidates, unknown, next) = match &spec.named {
                    Some(named) => {
                        let from = (after + 1).max(0) as usize;
                        let part: Vec<_> = named
                            .iter()
                            .skip(from)
                            .take(SWEEP_CHUNK as usize)
                            .cloned()
                            .collect();
                        let c = store
                            .candidates(page, topic, &spec.tags, &spec.regions, Who::Named(&part))
                            .await?;
                        let unknown = part.len() - c.len();
                        let end = from + part.len();
                        let next = match end >= named.len() {
                            true => Cursor::Done,
                            false => Cursor::Sweep {
                                after: end as i64 - 1,
                            },
                        };
                        (c, unknown, next)
                    }
                    None => {
                        let Some(topic_id) = topic else {
                            return Ok((ChunkPlan::default(), Cursor::Done));
                        };
                        let ids = store
                            .topic_people_after(topic_id, after, SWEEP_CHUNK)
                            .await?;
                        let next = match ids.last() {
                            Some(last) if ids.len() as u64 == SWEEP_CHUNK => {
                                Cursor::Sweep { after: *last }
                            }
                            _ => Cursor::Done,
                        };
                        let c = store
                            .candidates(page, topic, &spec.tags, &spec.regions, Who::Ids(&ids))
                            .await?;
                        (c, 0, next)
                    }
                };
                let mut candidates = candidates;
                self.with_times(page, &ask, &mut candidates, now).await?;
                let ids = candidates.iter().map(|c| c.recipient_id).collect();
                let already = queued(ids).await?;
                let chunk = sweep(policy, &candidates, unknown, &already, room, &ask, now);
                Ok((chunk, next))
            }
            Cursor::Done => Ok((ChunkPlan::default(), Cursor::Done)),
        }
    }

    /// Reads, when the send has a frequency cap, what the cap counts for each candidate: their
    /// notifications sent in the window before the send is due, and those queued.
    async fn with_times(
        &self,
        page: &str,
        ask: &crate::domain::plan::Ask,
        candidates: &mut [crate::domain::plan::Candidate],
        now: i64,
    ) -> Result<()> {
        let Some(cap) = ask.polite.cap else {
            return Ok(());
        };
        let at = now.max(ask.due_ms);
        let psids: Vec<String> = candidates.iter().map(|c| c.psid.clone()).collect();
        let mut times = self
            .deps
            .store()
            .person_times(page, &psids, at - cap.window_ms, now)
            .await?;
        for c in candidates.iter_mut() {
            c.times = times.remove(&c.psid).unwrap_or_default();
        }
        Ok(())
    }

    /// Starts this process's planner task: it finishes the planning of every notification left
    /// unfinished (by a call's budget, or a replica that died), one chunk per notification per
    /// round, until `shutdown`.
    pub(crate) fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                let ids = match self.deps.store().planning_notifications(ROUND).await {
                    Ok(ids) => ids,
                    Err(e) => {
                        tracing::warn!(error = %e, "the planner could not read its work");
                        Vec::new()
                    }
                };
                let mut busy = false;
                for id in &ids {
                    // A slice of this notification, then the next one: none waits on another.
                    let slice = Instant::now() + Duration::from_millis(200);
                    match self.plan_until(id, Some(slice), 0, Some(&shutdown)).await {
                        Ok(done) => busy |= !done,
                        Err(e) => {
                            tracing::warn!(error = %e, notification_id = %id, "a planning chunk failed; retrying")
                        }
                    }
                }
                if busy {
                    continue;
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        })
    }
}

fn distinct(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut seen = HashSet::new();
    ids.filter(|i| seen.insert(*i)).collect()
}
