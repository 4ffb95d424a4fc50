//! The claim's politeness gate, on both backends: deliveries of one person queued by two sends
//! planned at the same moment (neither planner saw the other's) go one per window; the other
//! waits, its not-before time moved and a DEFERRED event naming the cap.

use super::interleavings::{open, queued_polite};
use crate::domain::event::EventFilter;
use crate::domain::polite::{FrequencyCap, Polite};
use crate::domain::vocab::EventKind;

const HOUR: i64 = 3_600_000;
/// Longer than the test: no claim lapses.
const LEASE: i64 = 10 * HOUR;

async fn a_claim_lets_one_person_past_their_cap_once_and_defers_the_rest(url: String) {
    let store = open(&url).await;
    let polite = Polite {
        cap: Some(FrequencyCap {
            max: 1,
            window_ms: HOUR,
        }),
        ..Default::default()
    };
    // Two sends to u0, both queued due at 1,000 ms with nothing deferred.
    let a = queued_polite(&store, 1, polite.clone()).await;
    let b = queued_polite(&store, 1, polite).await;
    let claim = store
        .claim_page("p", 1, 60_000_000, 10, LEASE, 1_000)
        .await
        .unwrap();
    assert_eq!(claim.claimed.len(), 1, "one of the two goes");
    assert_eq!(claim.claimed[0].notification_id, a, "the first queued");
    // The other is not due again within the hour, whatever claims come.
    let again = store
        .claim_page("p", 1, 60_000_000, 10, LEASE, 1_000 + HOUR - 1)
        .await
        .unwrap();
    assert!(again.claimed.is_empty());
    let evs = store
        .events_after(0, &EventFilter::default(), 100)
        .await
        .unwrap();
    let deferred: Vec<_> = evs
        .iter()
        .filter(|e| e.event.kind == EventKind::Deferred)
        .collect();
    assert_eq!(deferred.len(), 1, "one decision, not one per claim");
    let d = &deferred[0].event;
    assert_eq!(d.notification_id.as_deref(), Some(b.as_str()));
    assert_eq!(d.rule.as_deref(), Some("polite.frequency_cap.1/3600s"));
    assert_eq!(d.not_before_ms, Some(1_000 + HOUR));
    // Due at its not-before time, but the first is still in flight (no outcome recorded): a
    // send in flight counts as sent now, so it waits again rather than risk a second message.
    let at = store
        .claim_page("p", 1, 60_000_000, 10, LEASE, 1_000 + HOUR)
        .await
        .unwrap();
    assert!(
        at.claimed.is_empty(),
        "the first is still being sent: it counts"
    );
}

on_both_backends!(a_claim_lets_one_person_past_their_cap_once_and_defers_the_rest);
