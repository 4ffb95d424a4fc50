//! Event subscriber tests on SQLite, and PostgreSQL too when OTN_TEST_DATABASE_URL is set.

use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::domain::event::{Event, EventFilter, NewEvent};
use crate::domain::vocab::EventKind;
use crate::events::stream::{EventStream, Options, Start, read_batch, subscribe, subscribe_with};
use crate::store::{Store, events, listener};

/// How long any expected event may take; far below the long poll intervals used below.
const PATIENCE: Duration = Duration::from_secs(10);
/// A poll interval no test waits for: an event that arrives came from a wake-up.
const NEVER: Duration = Duration::from_secs(3600);

async fn open(url: &str) -> Store {
    Store::migrate(url).await.expect("migrate");
    Store::open(url, 8).await.expect("open")
}

fn ev(page: &str, topic: Option<&str>, notification: Option<&str>) -> NewEvent {
    let mut e = NewEvent::new(EventKind::Queued, page);
    e.topic_key = topic.map(str::to_string);
    e.notification_id = notification.map(str::to_string);
    e
}

fn on_page(page: &str, n: usize) -> Vec<NewEvent> {
    (0..n).map(|_| ev(page, None, None)).collect()
}

/// Appends `batch` in one committed write transaction, and numbers it as the sequencer would.
async fn append(store: &Store, batch: Vec<NewEvent>) {
    let mut w = store.write().await.expect("begin");
    events::append(&mut w, batch, 1_000).await.expect("append");
    w.commit().await.expect("commit");
    store.sequence(1_000).await.expect("sequence");
}

fn options(poll: Duration) -> Options {
    Options {
        poll,
        ..Options::default()
    }
}

/// Subscribes, or panics.
async fn sub(
    store: &Store,
    t: &CancellationToken,
    f: &EventFilter,
    at: Start,
    o: Options,
) -> EventStream {
    subscribe_with(store, None, t.clone(), f.clone(), at, o)
        .await
        .expect("subscribe")
}

fn all() -> EventFilter {
    EventFilter::default()
}

fn page(p: &str) -> EventFilter {
    EventFilter {
        page_ids: Some(vec![p.into()]),
        ..Default::default()
    }
}

async fn next(s: &mut EventStream) -> Event {
    tokio::time::timeout(PATIENCE, s.next())
        .await
        .expect("an event in time")
        .expect("the stream has not ended")
        .expect("no error")
        .event
        .clone()
}

async fn take(s: &mut EventStream, n: usize) -> Vec<i64> {
    let mut seqs = Vec::with_capacity(n);
    for _ in 0..n {
        seqs.push(next(s).await.seq);
    }
    seqs
}

fn range(a: i64, b: i64) -> Vec<i64> {
    (a..=b).collect()
}

async fn resuming_after_n_sees_every_later_event_exactly_once(url: String) {
    let store = open(&url).await;
    for _ in 0..4 {
        append(&store, on_page("p1", 5)).await;
    }
    let token = CancellationToken::new();
    let small_batches = Options {
        batch: 3,
        ..options(NEVER)
    };
    let mut s = sub(&store, &token, &all(), Start::After(7), small_batches).await;
    assert_eq!(take(&mut s, 13).await, range(8, 20), "{url}");
    append(&store, on_page("p1", 3)).await;
    assert_eq!(take(&mut s, 3).await, range(21, 23), "{url}");
    // Nothing is repeated: the next event is the next one appended.
    append(&store, on_page("p1", 1)).await;
    assert_eq!(next(&mut s).await.seq, 24, "{url}");
    token.cancel();
}

async fn a_subscriber_started_before_the_events_sees_them_live_through_the_bus(url: String) {
    let store = open(&url).await;
    append(&store, on_page("p1", 3)).await;
    let token = CancellationToken::new();
    let mut s = sub(&store, &token, &all(), Start::Now, options(NEVER)).await;
    for seq in 4..=8 {
        append(&store, on_page("p1", 1)).await;
        assert_eq!(next(&mut s).await.seq, seq, "{url}");
    }
    token.cancel();
}

async fn a_missed_wake_up_only_delays_events_until_the_next_poll(url: String) {
    let store = open(&url).await;
    // A second pool whose commits never wake `store.bus` (and no listener runs).
    let other = open(&url).await;
    let token = CancellationToken::new();
    let poll = Duration::from_millis(100);
    let mut s = sub(&store, &token, &all(), Start::Now, options(poll)).await;
    append(&store, on_page("p1", 1)).await;
    assert_eq!(next(&mut s).await.seq, 1, "{url}");
    append(&other, on_page("p1", 1)).await;
    assert_eq!(next(&mut s).await.seq, 2, "{url}");
    token.cancel();
}

async fn filters_select_by_page_topic_and_notification(url: String) {
    let store = open(&url).await;
    let token = CancellationToken::new();
    let filter = |page: Option<&str>, topic: Option<&str>, n: Option<&str>| EventFilter {
        page_ids: page.map(|p| vec![p.to_string()]),
        topic_key: topic.map(str::to_string),
        notification_id: n.map(str::to_string),
    };
    let cases = [
        (filter(Some("p1"), None, None), vec![1, 2, 4, 6, 7]),
        (filter(None, Some("t1"), None), vec![1, 3, 4, 6, 7, 8]),
        (filter(None, None, Some("n1")), vec![1, 6, 7]),
        (filter(Some("p2"), Some("t1"), None), vec![3, 8]),
    ];
    let mut streams = Vec::new();
    for (f, _) in &cases {
        let s = subscribe(&store, None, token.clone(), f.clone(), Start::After(0));
        streams.push(s.await.unwrap());
    }
    let (t1, n1) = (Some("t1"), Some("n1"));
    let first = vec![ev("p1", t1, n1), ev("p1", Some("t2"), Some("n2"))];
    append(&store, first).await;
    let second = vec![ev("p2", t1, Some("n3")), ev("p1", t1, None)];
    append(&store, second).await;
    append(&store, vec![ev("p2", None, None), ev("p1", t1, n1)]).await;
    // Sentinels: the last expected event of every filter, so nothing extra can hide.
    append(&store, vec![ev("p1", t1, n1), ev("p2", t1, Some("n9"))]).await;
    for ((f, want), s) in cases.iter().zip(streams.iter_mut()) {
        assert_eq!(&take(s, want.len()).await, want, "{url} {f:?}");
    }
    token.cancel();
}

async fn a_filtered_read_moves_the_cursor_past_events_it_does_not_match(url: String) {
    let store = open(&url).await;
    append(&store, on_page("p1", 10)).await;
    let p2 = page("p2");
    let b = read_batch(&store, &p2, 0, 500).await.unwrap();
    assert!(b.events.is_empty() && !b.more, "{url}");
    assert_eq!(b.cursor, 10, "{url}");
    append(&store, on_page("p2", 3)).await;
    append(&store, on_page("p1", 2)).await;
    let b = read_batch(&store, &p2, 10, 2).await.unwrap();
    assert_eq!(b.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [11, 12]);
    assert!(b.more && b.cursor == 12, "{url}");
    let b = read_batch(&store, &p2, b.cursor, 2).await.unwrap();
    assert_eq!(b.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [13]);
    assert!(!b.more && b.cursor == 15, "{url}: {b:?}");
    // A cursor beyond the log never moves back.
    assert_eq!(read_batch(&store, &p2, 99, 2).await.unwrap().cursor, 99);
}

async fn a_slow_subscriber_does_not_block_appends_and_later_gets_every_event_in_order(url: String) {
    let store = open(&url).await;
    let token = CancellationToken::new();
    let tiny = Options {
        buffer: 4,
        batch: 8,
        ..Options::default()
    };
    let mut slow = sub(&store, &token, &all(), Start::After(0), tiny).await;
    let mut fast = subscribe(&store, None, token.clone(), all(), Start::After(0))
        .await
        .unwrap();
    let fast = tokio::spawn(async move { take(&mut fast, 300).await });
    for _ in 0..30 {
        tokio::time::timeout(PATIENCE, append(&store, on_page("p1", 10)))
            .await
            .expect("appends never wait for a subscriber");
    }
    assert_eq!(fast.await.unwrap(), range(1, 300), "{url}");
    assert_eq!(take(&mut slow, 300).await, range(1, 300), "{url}");
    token.cancel();
}

async fn shutdown_ends_the_stream(url: String) {
    let store = open(&url).await;
    let token = CancellationToken::new();
    let mut idle = sub(&store, &token, &all(), Start::Now, options(NEVER)).await;
    let one = Options {
        buffer: 1,
        ..options(NEVER)
    };
    let mut busy = sub(&store, &token, &all(), Start::After(0), one).await;
    append(&store, on_page("p1", 20)).await;
    assert_eq!(next(&mut idle).await.seq, 1);
    token.cancel();
    let ended = tokio::time::timeout(PATIENCE, idle.collect::<Vec<_>>()).await;
    assert!(ended.is_ok(), "{url}: idle stream ended");
    // A subscriber blocked on its full buffer ends too, after at most what was buffered.
    let rest = tokio::time::timeout(PATIENCE, busy.by_ref().collect::<Vec<_>>())
        .await
        .expect("busy stream ended");
    assert!(rest.len() <= 2 && rest.iter().all(Result::is_ok), "{url}");
}

async fn a_subscriber_resuming_after_a_restart_gets_exactly_the_rest(url: String) {
    let before = open(&url).await;
    append(&before, on_page("p1", 4)).await;
    append(&before, on_page("p1", 6)).await;
    let token = CancellationToken::new();
    let mut s = sub(&before, &token, &all(), Start::After(0), Options::default()).await;
    let seen = take(&mut s, 6).await;
    let last = *seen.last().unwrap();
    token.cancel();
    drop(s);
    before.close().await;

    let after = open(&url).await;
    append(&after, on_page("p1", 4)).await;
    let token = CancellationToken::new();
    let mut s = sub(
        &after,
        &token,
        &all(),
        Start::After(last),
        Options::default(),
    )
    .await;
    assert_eq!(take(&mut s, 8).await, range(7, 14), "{url}");
    append(&after, on_page("p1", 1)).await;
    assert_eq!(next(&mut s).await.seq, 15, "{url}");
    token.cancel();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set OTN_TEST_DATABASE_URL and run with -- --include-ignored"]
async fn a_replica_wakes_promptly_for_events_another_replica_commits() {
    let url = otn_testkit::db::fresh_postgres(&otn_testkit::db::require_postgres()).await;
    let (a, b) = (open(&url).await, open(&url).await);
    let token = CancellationToken::new();
    let task = listener::spawn(url.clone(), b.bus().clone(), token.clone()).expect("listener");
    let mut s = sub(&b, &token, &all(), Start::Now, options(NEVER)).await;
    for seq in 1..=5 {
        append(&a, on_page("p1", 1)).await;
        assert_eq!(next(&mut s).await.seq, seq);
    }
    token.cancel();
    tokio::time::timeout(PATIENCE, task)
        .await
        .expect("the listener stops on shutdown")
        .unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set OTN_TEST_DATABASE_URL and run with -- --include-ignored"]
async fn concurrent_appenders_on_two_replicas_leave_no_gap_or_duplicate() {
    let url = otn_testkit::db::fresh_postgres(&otn_testkit::db::require_postgres()).await;
    let replicas = [open(&url).await, open(&url).await];
    let token = CancellationToken::new();
    for r in &replicas {
        listener::spawn(url.clone(), r.bus().clone(), token.clone()).expect("listener");
    }
    let p1 = page("p1");
    let mut subs = Vec::new();
    for (r, f) in [(0, all()), (1, all()), (1, p1.clone())] {
        subs.push(sub(&replicas[r], &token, &f, Start::After(0), options(NEVER)).await);
    }
    let writers = (0..16).map(|w| {
        let store = replicas[w % 2].clone();
        tokio::spawn(async move {
            for i in 0..10 {
                let page = if (w + i) % 3 == 0 { "p1" } else { "p2" };
                append(&store, on_page(page, 1 + (w + i) % 3)).await;
            }
        })
    });
    for w in futures::future::join_all(writers).await {
        w.unwrap();
    }
    // A sentinel last event matching every subscriber: an extra or repeated event would
    // push it out of the exact lists below.
    append(&replicas[0], on_page("p1", 1)).await;
    let total = replicas[0].last_event_seq().await.unwrap();
    let want_p1: Vec<i64> = replicas[0]
        .events_after(0, &p1, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(take(&mut subs[0], total as usize).await, range(1, total));
    assert_eq!(take(&mut subs[1], total as usize).await, range(1, total));
    assert_eq!(take(&mut subs[2], want_p1.len()).await, want_p1);
    token.cancel();
}

on_both_backends!(
    resuming_after_n_sees_every_later_event_exactly_once,
    a_subscriber_started_before_the_events_sees_them_live_through_the_bus,
    a_missed_wake_up_only_delays_events_until_the_next_poll,
    filters_select_by_page_topic_and_notification,
    a_filtered_read_moves_the_cursor_past_events_it_does_not_match,
    a_slow_subscriber_does_not_block_appends_and_later_gets_every_event_in_order,
    shutdown_ends_the_stream,
    a_subscriber_resuming_after_a_restart_gets_exactly_the_rest,
);
