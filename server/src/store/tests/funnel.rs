//! The funnel's maintained counts: added by the transaction that appends the events, exactly
//! once under concurrent writers, kept per topic and per notification, and started by the
//! migration from what the log held.

use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::MigratorTrait;

use crate::domain::event::NewEvent;
use crate::domain::funnel::{DAY_MS, Funnel, FunnelStep as S};
use crate::domain::vocab::{EventKind, InteractionKind};
use crate::store::{Store, events};

async fn open(url: &str) -> Store {
    Store::migrate(url).await.expect("migrate");
    Store::open(url, 8).await.expect("open")
}

fn ev(kind: EventKind, notification: Option<&str>) -> NewEvent {
    let mut e = NewEvent::new(kind, "p");
    e.topic_key = Some("t".into());
    e.notification_id = notification.map(str::to_string);
    e
}

async fn append(store: &Store, batch: Vec<NewEvent>, at: i64) {
    let mut w = store.write().await.expect("begin");
    events::append(&mut w, batch, at).await.expect("append");
    w.commit().await.expect("commit");
}

async fn topic(store: &Store, first: i64, last: i64) -> Funnel {
    let rows = store.funnel_of_topic("p", "t", first, last).await.unwrap();
    Funnel::from_rows("p".into(), "t".into(), None, first, last, rows)
}

async fn notification(store: &Store, id: &str, first: i64, last: i64) -> Funnel {
    let rows = store.funnel_of_notification(id, first, last).await.unwrap();
    Funnel::from_rows("p".into(), "t".into(), Some(id.into()), first, last, rows)
}

async fn appended_events_are_counted_per_topic_notification_and_day(url: String) {
    let store = open(&url).await;
    let day = 20_000;
    let at = day * DAY_MS + 1_000;
    append(
        &store,
        vec![
            ev(EventKind::OptInRequested, None),
            ev(EventKind::OptInRequested, None),
            ev(EventKind::OptInRecorded, None),
            ev(EventKind::Sent, Some("n1")),
            ev(EventKind::Sent, Some("n1")),
            ev(EventKind::Sent, Some("n2")),
        ],
        at,
    )
    .await;
    let mut read = ev(EventKind::Read, Some("n1"));
    read.implied.delivered = true;
    let mut reply = ev(EventKind::Engaged, Some("n1"));
    reply.interaction = Some(InteractionKind::Message);
    reply.implied.first_engagement = true;
    let mut click = ev(EventKind::Clicked, Some("n1"));
    click.implied.first_engagement = false;
    append(
        &store,
        vec![ev(EventKind::Delivered, Some("n1")), read, reply, click],
        at + DAY_MS,
    )
    .await;
    // An event about no topic counts nowhere.
    append(
        &store,
        vec![NewEvent::new(EventKind::RecipientForgotten, "p")],
        at,
    )
    .await;

    let f = topic(&store, day, day + 1).await;
    let c = f.total;
    assert_eq!(
        (
            c.get(S::OptInRequested),
            c.get(S::OptedIn),
            c.get(S::Sent),
            c.get(S::Delivered),
            c.get(S::Read),
            c.get(S::Engaged),
            c.get(S::EngagedMessage),
            c.get(S::Clicked),
        ),
        (2, 1, 3, 2, 1, 1, 1, 1)
    );
    assert_eq!(f.days[0].1.get(S::Sent), 3);
    assert_eq!(f.days[1].1.get(S::Delivered), 2);
    assert_eq!(c.rates().opt_in, 0.5);
    assert_eq!(topic(&store, day + 2, day + 3).await.total.get(S::Sent), 0);

    let n1 = notification(&store, "n1", day, day + 1).await.total;
    assert_eq!(
        (
            n1.get(S::Sent),
            n1.get(S::Delivered),
            n1.get(S::Read),
            n1.get(S::OptedIn)
        ),
        (2, 2, 1, 0)
    );
    let n2 = notification(&store, "n2", day, day + 1).await.total;
    assert_eq!((n2.get(S::Sent), n2.get(S::Delivered)), (1, 0));
    let counted = store.funnel_counted("n1").await.unwrap().unwrap();
    assert_eq!(
        (
            counted.page_id.as_str(),
            counted.topic_key.as_str(),
            counted.first_day
        ),
        ("p", "t", day)
    );
    assert!(store.funnel_counted("nope").await.unwrap().is_none());
}

async fn concurrent_writers_count_every_event_exactly_once(url: String) {
    let store = open(&url).await;
    let at = 5 * DAY_MS;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let n = format!("n{}", (w + i) % 3);
                append(
                    &store,
                    vec![
                        ev(EventKind::Sent, Some(&n)),
                        ev(EventKind::Queued, Some(&n)),
                    ],
                    at,
                )
                .await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let c = topic(&store, 5, 5).await.total;
    assert_eq!((c.get(S::Sent), c.get(S::Queued)), (80, 80));
    let mut per_notification = 0;
    for n in ["n0", "n1", "n2"] {
        per_notification += notification(&store, n, 5, 5).await.total.get(S::Sent);
    }
    assert_eq!(per_notification, 80);
}

/// The one-time pass of the migration counts what the log held before it.
async fn the_migration_counts_what_the_log_already_held(url: String) {
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let before = super::super::migration::Migrator::migrations().len() as u32 - 1;
    super::super::migration::Migrator::up(&db, Some(before))
        .await
        .unwrap();
    let backend = db.get_database_backend();
    let day = 100;
    let at = day * DAY_MS + 5;
    // (seq, kind, notification, delivery): two sends, one delivered then read, one read without
    // a delivery receipt, a reply, an opt-in, and an event about no topic.
    let rows: [(i64, EventKind, Option<&str>, Option<&str>); 7] = [
        (1, EventKind::OptInRecorded, None, None),
        (2, EventKind::Sent, Some("n1"), Some("1")),
        (3, EventKind::Sent, Some("n1"), Some("2")),
        (4, EventKind::Delivered, Some("n1"), Some("1")),
        (5, EventKind::Read, Some("n1"), Some("1")),
        (6, EventKind::Read, Some("n1"), Some("2")),
        (7, EventKind::Engaged, Some("n1"), Some("2")),
    ];
    use crate::store::codes::Code;
    for (seq, kind, n, d) in rows {
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO events (seq, at, kind, page_id, topic_key, notification_id, \
             delivery_id, path) VALUES ($1, $2, $3, 'p', 't', $4, $5, 0)",
            [
                seq.into(),
                at.into(),
                kind.code().into(),
                n.map(str::to_string).into(),
                d.map(str::to_string).into(),
            ],
        ))
        .await
        .unwrap();
    }
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        "INSERT INTO events (seq, at, kind, page_id, path) VALUES (8, $1, $2, 'p', 0)",
        [at.into(), EventKind::RecipientForgotten.code().into()],
    ))
    .await
    .unwrap();
    db.close().await.unwrap();
    let store = open(&url).await;
    let c = topic(&store, day, day).await.total;
    assert_eq!(
        (
            c.get(S::OptedIn),
            c.get(S::Sent),
            c.get(S::Delivered),
            c.get(S::Read),
            c.get(S::Engaged),
            c.get(S::EngagedMessage),
        ),
        (1, 2, 2, 2, 1, 1)
    );
    let n = notification(&store, "n1", day, day).await.total;
    assert_eq!(
        (n.get(S::Sent), n.get(S::Delivered), n.get(S::OptedIn)),
        (2, 2, 0)
    );
}

on_both_backends!(
    appended_events_are_counted_per_topic_notification_and_day,
    concurrent_writers_count_every_event_exactly_once,
    the_migration_counts_what_the_log_already_held,
);
