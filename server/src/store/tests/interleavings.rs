//! Interleavings forced by hand, on both backends: a transaction is held open at the point a
//! race would need, and the other one must wait for it and then see its work. A receipt is never
//! lost, whichever of it and the recording of its send commits first; a notification completes
//! exactly once when its last deliveries are recorded together.

use std::time::Duration;

use crate::domain::grant::NewGrant;
use crate::domain::notification::{Actor, Notification, PlanCounts};
use crate::domain::outcome::{Claimed, Completed, Outcome};
use crate::domain::plan::NewDelivery;
use crate::domain::planning::{ChunkPlan, Cursor, Spec};
use crate::domain::values::{PageId, Psid, Title, Token, TopicKey};
use crate::domain::vocab::{DeliveryPath, DeliveryState, GrantKind, NotificationState};
use crate::store::{NewNotification, Receipt, Store};

/// How long a transaction that must wait is given to show it does not.
const BLOCKED: Duration = Duration::from_millis(300);

pub(super) async fn open(url: &str) -> Store {
    Store::migrate(url).await.expect("migrate");
    let store = Store::open(url, 8).await.expect("open");
    store
        .ensure_pages(&[("p".into(), None)], 0)
        .await
        .expect("page");
    store
}

/// A notification of `n` one-time grant sends on page `p`, every delivery claimed.
async fn claimed(store: &Store, n: usize) -> (String, Vec<Claimed>) {
    let id = queued(store, n).await;
    let claim = store
        .claim_page("p", 1, 60_000_000, n as u64, 60_000, 1_000)
        .await
        .unwrap();
    assert_eq!(claim.claimed.len(), n);
    (id, claim.claimed)
}

/// A SCHEDULED notification of `n` one-time grant sends on page `p`, due at 1,000 ms.
pub(super) async fn queued(store: &Store, n: usize) -> String {
    queued_polite(store, n, Default::default()).await
}

/// [`queued`], observing `polite` (queued as planned by a planner that saw nothing to defer).
pub(super) async fn queued_polite(
    store: &Store,
    n: usize,
    polite: crate::domain::polite::Polite,
) -> String {
    let now = 1_000;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let mut deliveries = Vec::new();
    for i in 0..n {
        let g = NewGrant {
            page_id: PageId::parse("p", "p").unwrap(),
            psid: Psid::parse("u", &format!("u{i}")).unwrap(),
            topic_key: TopicKey::parse("t", "t").unwrap(),
            topic_title: Title::parse("t", "T").unwrap(),
            kind: GrantKind::OneTimeNotification,
            token: Token::parse("t", &format!("tok-{i}-{tag}")).unwrap(),
            payload: String::new(),
            opted_in_ms: now,
            expires_ms: None,
            erasure_key: None,
        };
        let (view, _) = store
            .record_grant(&g, &Actor::named("t"), now)
            .await
            .unwrap();
        let rid = store.recipient("p", &view.psid).await.unwrap().unwrap().id;
        deliveries.push(NewDelivery {
            recipient_id: rid,
            psid: view.psid,
            grant_id: Some(view.id),
            path: DeliveryPath::Grant,
            rule: "grant.one_time_notification".into(),
            deferred: None,
            quiet_zone: None,
        });
    }
    let notification = Notification {
        id: uuid::Uuid::now_v7().to_string(),
        page_id: "p".into(),
        request_id: format!("r-{}", uuid::Uuid::new_v4().simple()),
        request_hash: String::new(),
        topic_key: "t".into(),
        state: NotificationState::Scheduled,
        plan: PlanCounts::default(),
        planning: true,
        message_tag: None,
        rolling_title: None,
        scheduled_ms: now,
        created_ms: now,
        completed_ms: None,
        created_by: "t".into(),
        polite: polite.clone(),
    };
    let id = notification.id.clone();
    let spec = Spec {
        tags: Default::default(),
        regions: Vec::new(),
        named: None,
        include_window: false,
        message_tag: None,
        max_recipients: None,
        polite,
    };
    let new = NewNotification {
        notification,
        message: r#"{"text":"hi"}"#.into(),
        spec: Some(spec),
        trace_parent: None,
    };
    let n = store.create_notification(new).await.unwrap().unwrap();
    let count = deliveries.len() as u64;
    let mut chunk = ChunkPlan::default();
    chunk.counts.grant_sends = count as i64;
    chunk.deliveries = deliveries;
    let mut w = store.write().await.unwrap();
    let applied = store
        .apply_plan_chunk(
            &mut w,
            &n,
            &Cursor::Sweep { after: -1 },
            &Cursor::Done,
            chunk,
            now,
        )
        .await
        .unwrap();
    w.commit().await.unwrap();
    assert_eq!(applied, crate::store::Applied::Queued(count));
    id
}

fn sent(c: &Claimed, mid: &str, meta_ms: i64) -> Completed {
    Completed {
        claimed: c.clone(),
        outcome: Outcome::Sent {
            message_id: mid.into(),
            meta_ms: Some(meta_ms),
        },
        reusable: false,
    }
}

async fn delivery_state(store: &Store, id: &str) -> DeliveryState {
    let counts = store.delivery_counts(&[id.to_string()]).await.unwrap();
    let c = &counts[id];
    assert_eq!(c.values().sum::<i64>(), 1, "{c:?}");
    *c.keys().next().unwrap()
}

async fn a_receipt_committed_while_its_send_is_being_recorded_is_applied(url: String) {
    let store = open(&url).await;
    let (id, c) = claimed(&store, 1).await;
    // The receipt's transaction parks the mid (no send has that mid yet) and stays open.
    let mut w = store.write().await.unwrap();
    let mids = ["m-1".to_string()];
    let receipt = Receipt::Delivered {
        mids: &mids,
        watermark: 0,
    };
    assert_eq!(
        store
            .receipt_in(&mut w, "p", "u0", receipt, 2_000)
            .await
            .unwrap(),
        0
    );
    // The send is recorded meanwhile: it must wait for the receipt.
    let recording = {
        let (store, batch) = (store.clone(), vec![sent(&c[0], "m-1", 1_500)]);
        tokio::spawn(async move { store.complete(&batch, 2_000).await })
    };
    tokio::time::sleep(BLOCKED).await;
    assert!(
        !recording.is_finished(),
        "{url}: recording did not wait for the receipt"
    );
    w.commit().await.unwrap();
    recording.await.unwrap().unwrap();
    assert_eq!(
        delivery_state(&store, &id).await,
        DeliveryState::Delivered,
        "{url}"
    );
}

async fn a_receipt_arriving_while_its_send_is_being_recorded_waits_and_applies(url: String) {
    let store = open(&url).await;
    let (id, c) = claimed(&store, 1).await;
    // The send's transaction records it (and finds no early receipt) and stays open.
    let mut w = store.write().await.unwrap();
    store
        .complete_in(&mut w, &[sent(&c[0], "m-1", 1_500)], 2_000)
        .await
        .unwrap();
    // A read receipt (watermark after the call's start) arrives meanwhile: it must wait.
    let reading = {
        let store = store.clone();
        tokio::spawn(async move {
            let read = Receipt::Read { watermark: 1_600 };
            store.receipt("p", "u0", read, 2_100).await
        })
    };
    tokio::time::sleep(BLOCKED).await;
    assert!(
        !reading.is_finished(),
        "{url}: the receipt did not wait for the send"
    );
    w.commit().await.unwrap();
    assert_eq!(reading.await.unwrap().unwrap(), 1, "{url}");
    assert_eq!(
        delivery_state(&store, &id).await,
        DeliveryState::Read,
        "{url}"
    );
}

async fn a_watermark_before_the_call_started_reads_nothing_and_after_it_reads_the_message(
    url: String,
) {
    let store = open(&url).await;
    let (id, c) = claimed(&store, 1).await;
    // Meta stamped the message during the call (1,500..1,650): a read of "everything up to
    // 1,600" covers it, although the answer was recorded at 2,000.
    let early = Receipt::Read { watermark: 1_400 };
    store.receipt("p", "u0", early, 1_700).await.unwrap();
    store
        .complete(&[sent(&c[0], "m-1", 1_500)], 2_000)
        .await
        .unwrap();
    assert_eq!(
        delivery_state(&store, &id).await,
        DeliveryState::Sent,
        "{url}"
    );
    store
        .receipt("p", "u0", Receipt::Read { watermark: 1_600 }, 2_100)
        .await
        .unwrap();
    assert_eq!(
        delivery_state(&store, &id).await,
        DeliveryState::Read,
        "{url}"
    );
}

async fn the_last_deliveries_recorded_together_complete_the_notification_exactly_once(url: String) {
    let store = open(&url).await;
    // A second pool: the other replica's completion writer.
    let other = open(&url).await;
    let (id, c) = claimed(&store, 2).await;
    let mut w = store.write().await.unwrap();
    store
        .complete_in(&mut w, &[sent(&c[0], "m-0", 1_500)], 2_000)
        .await
        .unwrap();
    let last = {
        let batch = vec![sent(&c[1], "m-1", 1_500)];
        tokio::spawn(async move { other.complete(&batch, 2_001).await })
    };
    tokio::time::sleep(BLOCKED).await;
    assert!(!last.is_finished(), "{url}: the second writer did not wait");
    w.commit().await.unwrap();
    last.await.unwrap().unwrap();
    let n = store.notification(&id).await.unwrap().unwrap();
    assert_eq!(n.state, NotificationState::Completed, "{url}");
    assert_eq!(
        n.completed_ms,
        Some(2_001),
        "{url}: completed by the last writer"
    );
}

on_both_backends!(
    a_receipt_committed_while_its_send_is_being_recorded_is_applied,
    a_receipt_arriving_while_its_send_is_being_recorded_waits_and_applies,
    a_watermark_before_the_call_started_reads_nothing_and_after_it_reads_the_message,
    the_last_deliveries_recorded_together_complete_the_notification_exactly_once,
);
