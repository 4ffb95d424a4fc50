//! Routine successes are summarised, not logged one by one: an opt-in recorded or a receipt
//! applied by the webhook is a DEBUG line, and every `telemetry.log_summary_secs` one INFO line
//! counts what the webhook applied and skipped since the last one (nothing when nothing
//! happened). Failures and decisions (refusals, pauses, policy blocks, STOP) keep their own
//! lines, and so does the audit line of every mutating RPC.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Counts since the last summary: (kind, outcome, reason) → events.
static COUNTS: Mutex<BTreeMap<(&'static str, &'static str, &'static str), u64>> =
    Mutex::new(BTreeMap::new());

/// One webhook event of `kind` ended as `outcome` (`applied`, `skipped`, `failed`).
pub(crate) fn webhook_event(kind: &'static str, outcome: &'static str, reason: &'static str) {
    let mut counts = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
    *counts.entry((kind, outcome, reason)).or_insert(0) += 1;
}

/// The counts since the last call, as `kind=n` for what was applied and `kind/reason=n` for
/// what was skipped or failed; empty when nothing happened.
pub(crate) fn take() -> (String, String) {
    let counts = std::mem::take(&mut *COUNTS.lock().unwrap_or_else(|p| p.into_inner()));
    let mut applied = Vec::new();
    let mut other = Vec::new();
    for ((kind, outcome, reason), n) in counts {
        match outcome {
            "applied" => applied.push(format!("{kind}={n}")),
            _ => other.push(format!("{kind}/{outcome}/{reason}={n}")),
        }
    }
    (applied.join(" "), other.join(" "))
}

/// Logs the summary every `every` until `shutdown` (and once more then).
pub(crate) fn spawn(every: Duration, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let every = every.max(Duration::from_millis(100));
        loop {
            let stop = tokio::select! {
                _ = shutdown.cancelled() => true,
                _ = tokio::time::sleep(every) => false,
            };
            let (applied, other) = take();
            if !applied.is_empty() || !other.is_empty() {
                tracing::info!(
                    secs = every.as_secs_f64(),
                    applied = applied.as_str(),
                    skipped = other.as_str(),
                    "webhook events"
                );
            }
            if stop {
                return;
            }
        }
    })
}
