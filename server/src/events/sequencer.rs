//! The upgrade sequencer: numbers events that a replica of an older version appended unnumbered
//! (this version numbers its own as it commits them), when such a replica says so through
//! NOTIFY, and at least once a second in case a wake-up was missed. One indexed probe when
//! there are none.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::store::Store;
use crate::store::events::SEQUENCE_BATCH;

/// The longest a committed event waits for its number if every wake-up is lost.
const POLL: Duration = Duration::from_secs(1);

/// Starts the sequencer of this process; it stops when `shutdown` is cancelled (after numbering
/// what was committed before).
pub(crate) fn spawn(
    store: Store,
    clock: SharedClock,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut wake = store.bus().legacy_appended.subscribe();
        let mut failures = 0u32;
        loop {
            wake.borrow_and_update();
            let done = store.sequence(clock.now_ms()).await;
            if let Ok(s) = &done {
                crate::ops::metrics::sequenced(s.count.max(0) as u64);
            }
            match done {
                Ok(s) if s.count == SEQUENCE_BATCH => continue,
                Ok(_) => failures = 0,
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, failures, "sequencing the event log failed; retrying");
                    let pause = Duration::from_millis(100 * u64::from(failures.min(20)));
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(pause) => continue,
                    }
                }
            }
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    // A last pass: what writers committed before the stop gets its number now.
                    let _ = store.sequence(clock.now_ms()).await;
                    return;
                }
                _ = wake.changed() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    })
}
