//! Echoes against the recording of their send, interleaved by hand on both backends: an echo
//! is never lost, whichever of it and the attempt's outcome commits first, and the grant of a
//! delivery given up without evidence is never given back.

use std::time::Duration;

use super::interleavings::{open, queued};
use crate::domain::event::Failure;
use crate::domain::evidence::Echo;
use crate::domain::outcome::{Claimed, Completed, GrantAfter, Outcome};
use crate::domain::vocab::{DeliveryState, GrantState};
use crate::store::{EchoApplied, Store};

/// How long a transaction that must wait is given to show it does not.
const BLOCKED: Duration = Duration::from_millis(300);

async fn claimed_one(store: &Store) -> (String, Claimed) {
    let id = queued(store, 1).await;
    let mut claim = store
        .claim_page("p", 1, 60_000_000, 1, 60_000, 1_000)
        .await
        .unwrap();
    (id, claim.claimed.remove(0))
}

fn unknown() -> Failure {
    Failure {
        reason: "UNKNOWN_OUTCOME".into(),
        code: 2,
        subcode: 0,
        message: String::new(),
    }
}

fn with(c: &Claimed, outcome: Outcome) -> Completed {
    Completed {
        claimed: c.clone(),
        outcome,
        reusable: false,
    }
}

fn echo() -> Echo {
    Echo {
        mid: "m_echo".into(),
        at_ms: 1_400,
    }
}

async fn only_state(store: &Store, id: &str) -> DeliveryState {
    let counts = store.delivery_counts(&[id.to_string()]).await.unwrap();
    let c = &counts[id];
    assert_eq!(c.values().sum::<i64>(), 1, "{c:?}");
    *c.keys().next().unwrap()
}

async fn grant_state(store: &Store, c: &Claimed) -> GrantState {
    let id = c.grant.as_ref().unwrap().id;
    store.grant(id).await.unwrap().unwrap().state
}

async fn an_echo_committed_while_its_attempt_is_recorded_turns_the_retry_into_sent(url: String) {
    let store = open(&url).await;
    let (id, c) = claimed_one(&store).await;
    // The echo's transaction finds the attempt in flight, keeps the echo and stays open.
    let mut w = store.write().await.unwrap();
    let kept = store
        .echo_in(&mut w, "p", "u0", c.id, &echo(), &[], 1_500)
        .await
        .unwrap();
    assert_eq!(kept, EchoApplied::Kept, "{url}");
    // The attempt's answer (a 500) is recorded meanwhile: it must wait for the echo.
    let recording = {
        let retry = Outcome::Retry {
            at_ms: 9_000,
            failure: unknown(),
            ambiguous: true,
        };
        let (store, batch) = (store.clone(), vec![with(&c, retry)]);
        tokio::spawn(async move { store.complete(&batch, 2_000).await })
    };
    tokio::time::sleep(BLOCKED).await;
    assert!(!recording.is_finished(), "{url}: did not wait for the echo");
    w.commit().await.unwrap();
    let finished = recording.await.unwrap().unwrap();
    assert_eq!(finished, vec![(0, DeliveryState::Sent)], "{url}");
    assert_eq!(only_state(&store, &id).await, DeliveryState::Sent, "{url}");
    assert_eq!(grant_state(&store, &c).await, GrantState::Consumed, "{url}");
    let n = store.notification(&id).await.unwrap().unwrap();
    assert!(!n.state.is_open(), "{url}: completed");
}

async fn an_echo_arriving_while_its_delivery_is_given_up_waits_and_confirms_it(url: String) {
    let store = open(&url).await;
    let (id, c) = claimed_one(&store).await;
    // The last attempt is recorded UNCONFIRMED (no kept echo) and the transaction stays open.
    let mut w = store.write().await.unwrap();
    let given_up = Outcome::Unconfirmed {
        failure: unknown(),
        grant: GrantAfter::Spent,
    };
    let finished = store
        .complete_in(&mut w, &[with(&c, given_up)], 2_000)
        .await
        .unwrap();
    assert_eq!(finished, vec![(0, DeliveryState::Unconfirmed)], "{url}");
    // The echo arrives meanwhile: it must wait, then confirm what was recorded.
    let echoing = {
        let (store, d) = (store.clone(), c.id);
        tokio::spawn(async move { store.echo("p", "u0", d, &echo(), &[], 2_100).await })
    };
    tokio::time::sleep(BLOCKED).await;
    assert!(!echoing.is_finished(), "{url}: the echo did not wait");
    w.commit().await.unwrap();
    assert_eq!(
        echoing.await.unwrap().unwrap(),
        EchoApplied::Confirmed {
            was: DeliveryState::Unconfirmed
        },
        "{url}"
    );
    assert_eq!(only_state(&store, &id).await, DeliveryState::Sent, "{url}");
    assert_eq!(grant_state(&store, &c).await, GrantState::Consumed, "{url}");
    // Redelivered: nothing new.
    let again = store
        .echo("p", "u0", c.id, &echo(), &[], 2_200)
        .await
        .unwrap();
    assert_eq!(again, EchoApplied::Known, "{url}");
}

async fn an_echo_for_another_person_or_page_changes_nothing(url: String) {
    let store = open(&url).await;
    let (id, c) = claimed_one(&store).await;
    for (page, psid) in [("p", "stranger"), ("other-page", "u0")] {
        let r = store
            .echo(page, psid, c.id, &echo(), &[], 1_500)
            .await
            .unwrap();
        assert_eq!(r, EchoApplied::NoSuchDelivery, "{url}");
    }
    let retry = Outcome::Retry {
        at_ms: 9_000,
        failure: unknown(),
        ambiguous: true,
    };
    store.complete(&[with(&c, retry)], 2_000).await.unwrap();
    assert_eq!(
        only_state(&store, &id).await,
        DeliveryState::Queued,
        "{url}"
    );
}

async fn an_outcome_decided_for_a_claim_that_was_taken_over_changes_nothing(url: String) {
    let store = open(&url).await;
    let id = queued(&store, 1).await;
    // A claim whose lease lapses, and the claim that takes it over (an ambiguous retry).
    let first = store
        .claim_page("p", 1, 60_000_000, 1, 1_000, 1_000)
        .await
        .unwrap()
        .claimed
        .remove(0);
    let second = store
        .claim_page("p", 1, 60_000_000, 1, 60_000, 3_000)
        .await
        .unwrap()
        .claimed
        .remove(0);
    assert_eq!((first.attempts, second.attempts), (1, 2), "{url}");
    assert!(
        second.ambiguous,
        "{url}: a lapsed claim may have reached Meta"
    );
    // The first claim's (late) answer: a refusal; it must not touch the second's claim.
    let failed = Outcome::Failed {
        failure: unknown(),
        grant: GrantAfter::Release,
    };
    let finished = store
        .complete(&[with(&first, failed)], 4_000)
        .await
        .unwrap();
    assert!(finished.is_empty(), "{url}: {finished:?}");
    assert_eq!(
        only_state(&store, &id).await,
        DeliveryState::Sending,
        "{url}"
    );
    assert_eq!(grant_state(&store, &second).await, GrantState::Reserved);
}

on_both_backends!(
    an_echo_committed_while_its_attempt_is_recorded_turns_the_retry_into_sent,
    an_echo_arriving_while_its_delivery_is_given_up_waits_and_confirms_it,
    an_echo_for_another_person_or_page_changes_nothing,
    an_outcome_decided_for_a_claim_that_was_taken_over_changes_nothing,
);
