//! Repository tests, run on SQLite always and on PostgreSQL too when OTN_TEST_DATABASE_URL is
//! set: migrations, the event log's ordering, and idempotent ledger writes.

use crate::domain::event::EventFilter;
use crate::domain::grant::NewGrant;
use crate::domain::notification::Actor;
use crate::domain::values::{PageId, Psid, Title, Token, TopicKey};
use crate::domain::vocab::{GrantKind, GrantState};
use crate::store::Store;

fn actor() -> Actor {
    Actor::named("tests")
}

async fn open(url: &str) -> Store {
    Store::migrate(url).await.expect("migrate");
    let store = Store::open(url, 8).await.expect("open");
    store
        .ensure_pages(&[("p".into(), None)], 0)
        .await
        .expect("pages");
    store
}

fn grant(psid: &str, token: &str) -> NewGrant {
    NewGrant {
        page_id: PageId::parse("p", "p").expect("page"),
        psid: Psid::parse("psid", psid).expect("psid"),
        topic_key: TopicKey::parse("t", "topic").expect("topic"),
        topic_title: Title::parse("t", "Topic").expect("title"),
        kind: GrantKind::OneTimeNotification,
        token: Token::parse("token", token).expect("token"),
        payload: String::new(),
        opted_in_ms: 1_000,
        expires_ms: None,
        erasure_key: None,
    }
}

async fn migrations_are_safe_when_replicas_start_together(url: String) {
    let runs = (0..3).map(|_| Store::migrate(&url));
    for r in futures::future::join_all(runs).await {
        r.unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    Store::migrate(&url).await.unwrap();
}

async fn event_sequence_numbers_are_gapless_under_concurrent_writers_and_sequencers(url: String) {
    let store = open(&url).await;
    // Two pools on one database: sequencers of two replicas racing the writers.
    let other = open(&url).await;
    let writes = (0..40).map(|i| {
        let store = store.clone();
        async move {
            store
                .record_grant(&grant(&format!("u{i}"), &format!("t{i}")), &actor(), 5)
                .await
                .map(|_| ())
        }
    });
    let sequencers = (0..6).map(|i| {
        let s = if i % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        async move {
            for _ in 0..10 {
                s.sequence(7).await?;
                tokio::task::yield_now().await;
            }
            Ok(())
        }
    });
    let (w, q) = futures::future::join(
        futures::future::join_all(writes),
        futures::future::join_all(sequencers),
    )
    .await;
    for r in w.into_iter().chain(q) {
        r.unwrap();
    }
    store.sequence(8).await.unwrap();
    let events = store
        .events_after(0, &EventFilter::default(), 1000)
        .await
        .unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "{url}");
    assert_eq!(store.last_event_seq().await.unwrap(), 40);
    let later = store
        .events_after(35, &EventFilter::default(), 1000)
        .await
        .unwrap();
    assert_eq!(later.len(), 5);
}

async fn events_an_older_replica_left_unnumbered_are_numbered_after_the_head(url: String) {
    use sea_orm::{ConnectionTrait, Statement};
    let store = open(&url).await;
    store
        .record_grant(&grant("u1", "tok-1"), &actor(), 5)
        .await
        .unwrap();
    assert_eq!(
        store.last_event_seq().await.unwrap(),
        1,
        "numbered as committed"
    );
    // What a replica of 0.2 appends during a rolling upgrade: no number.
    store
        .db()
        .execute_raw(Statement::from_string(
            store.db().get_database_backend(),
            "INSERT INTO events (seq, at, kind, page_id, path) VALUES (NULL, 6, 1, 'p', 0)",
        ))
        .await
        .unwrap();
    assert_eq!(store.unsequenced_events().await.unwrap(), 1);
    let s = store.sequence(7).await.unwrap();
    assert_eq!((s.count, s.head), (1, 2), "{url}");
    store
        .record_grant(&grant("u2", "tok-2"), &actor(), 8)
        .await
        .unwrap();
    let seqs: Vec<i64> = store
        .events_after(0, &EventFilter::default(), 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [1, 2, 3], "{url}");
    assert_eq!(store.sequence(9).await.unwrap().count, 0, "nothing left");
}

async fn a_token_recorded_twice_is_one_grant(url: String) {
    let store = open(&url).await;
    let (a, replay_a) = store
        .record_grant(&grant("u1", "tok"), &actor(), 5)
        .await
        .unwrap();
    let (b, replay_b) = store
        .record_grant(&grant("u1", "tok"), &actor(), 6)
        .await
        .unwrap();
    assert!(!replay_a && replay_b, "{url}");
    assert_eq!(a.id, b.id);
    assert!(
        store
            .record_grant(&grant("u2", "tok"), &actor(), 7)
            .await
            .is_err()
    );
}

async fn stop_and_resume_apply_in_event_time_order(url: String) {
    let store = open(&url).await;
    let (g, _) = store
        .record_grant(&grant("u1", "mtok"), &actor(), 5)
        .await
        .unwrap();
    assert!(
        store
            .set_stopped("p", "u1", "mtok", true, 2_000, 9)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_stopped("p", "u1", "mtok", true, 2_000, 9)
            .await
            .unwrap(),
        "duplicate"
    );
    assert!(
        !store
            .set_stopped("p", "u1", "mtok", false, 1_500, 9)
            .await
            .unwrap(),
        "older resume"
    );
    let stopped = store.grant(g.id).await.unwrap().unwrap();
    assert_eq!(stopped.state, GrantState::Stopped, "{url}");
    assert!(
        store
            .set_stopped("p", "u1", "mtok", false, 3_000, 9)
            .await
            .unwrap()
    );
    assert_eq!(
        store.grant(g.id).await.unwrap().unwrap().state,
        GrantState::Active
    );
}

async fn the_window_keeps_the_latest_interaction(url: String) {
    let store = open(&url).await;
    let (p, u) = (
        PageId::parse("p", "p").unwrap(),
        Psid::parse("u", "u1").unwrap(),
    );
    store.record_interaction(&p, &u, 5_000, 1).await.unwrap();
    let r = store.record_interaction(&p, &u, 4_000, 1).await.unwrap();
    assert_eq!(r.last_interaction_ms, Some(5_000), "{url}");
}

on_both_backends!(
    events_an_older_replica_left_unnumbered_are_numbered_after_the_head,
    migrations_are_safe_when_replicas_start_together,
    event_sequence_numbers_are_gapless_under_concurrent_writers_and_sequencers,
    a_token_recorded_twice_is_one_grant,
    stop_and_resume_apply_in_event_time_order,
    the_window_keeps_the_latest_interaction,
);
