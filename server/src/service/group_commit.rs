//! Group commit of opt-ins: concurrent RecordOptIns (and webhook opt-ins) wait in one queue, and
//! each writer takes whatever has queued (up to [`BATCH`]) into one transaction of multi-row
//! statements. Every caller is answered only after its transaction committed.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use crate::clock::SharedClock;
use crate::domain::grant::{GrantView, NewGrant};
use crate::domain::notification::Actor;
use crate::error::{Error, Result};
use crate::store::Store;

/// The most opt-ins one transaction records.
const BATCH: usize = 256;

struct Job {
    grant: NewGrant,
    actor: Actor,
    reply: oneshot::Sender<Result<(GrantView, bool)>>,
}

/// The queue of opt-ins to record.
#[derive(Debug, Clone)]
pub(crate) struct OptInWriter {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

impl OptInWriter {
    /// Starts `writers` writers over `store` (one on SQLite, whose writes are serial anyway).
    pub(crate) fn start(store: Store, clock: SharedClock, writers: usize) -> Self {
        let (tx, rx) = mpsc::channel(BATCH * 8);
        let rx = Arc::new(Mutex::new(rx));
        let writers = if store.is_postgres() {
            writers.max(1)
        } else {
            1
        };
        for _ in 0..writers {
            tokio::spawn(write_loop(store.clone(), clock.clone(), rx.clone()));
        }
        Self { tx }
    }

    /// Records one opt-in with whatever else is waiting; `true` when it was a replay.
    pub(crate) async fn record(&self, grant: NewGrant, actor: Actor) -> Result<(GrantView, bool)> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                grant,
                actor,
                reply,
            })
            .await
            .map_err(|_| Error::Internal("the opt-in writer stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("the opt-in writer dropped a request".into()))?
    }
}

async fn write_loop(store: Store, clock: SharedClock, rx: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut jobs = Vec::with_capacity(BATCH);
    loop {
        if rx.lock().await.recv_many(&mut jobs, BATCH).await == 0 {
            return;
        }
        let batch: Vec<(NewGrant, Actor)> = jobs
            .iter()
            .map(|j| (j.grant.clone(), j.actor.clone()))
            .collect();
        match store.record_grants(&batch, clock.now_ms()).await {
            Ok(answers) => {
                for (job, answer) in jobs.drain(..).zip(answers) {
                    let _ = job.reply.send(answer);
                }
            }
            // The whole transaction failed: record each alone, so one bad opt-in (or a
            // deadlock with another replica's batch) costs only its own caller an error.
            Err(e) => {
                tracing::warn!(error = %e, n = jobs.len(), "opt-in batch failed; recording one by one");
                for job in jobs.drain(..) {
                    let one = [(job.grant, job.actor)];
                    let answer = match store.record_grants(&one, clock.now_ms()).await {
                        Ok(mut a) => a.pop().unwrap_or_else(|| {
                            Err(Error::Internal("no answer for the opt-in".into()))
                        }),
                        Err(e) => Err(e),
                    };
                    let _ = job.reply.send(answer);
                }
            }
        }
    }
}
