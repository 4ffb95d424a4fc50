//! Receipts and engagement: deliveries by mid or by watermark, reads by watermark, engagement
//! reopening the window, rolling consent, and two replicas sharing one send and one log.

use std::time::Duration;

use otn::v1::{self as pb, DeliveryEventType as T};
use otn_server::clock::Clock;
use otn_testkit::meta::{body_of, event, post_signed};
use otn_testkit::{PAGE, World};
use serde_json::json;

async fn wait_counts(
    app: &mut otn_testkit::TestApp,
    id: &str,
    ok: impl Fn(&pb::DeliveryCounts) -> bool,
) -> pb::DeliveryCounts {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let n = app
            .client
            .get_notification(pb::GetNotificationRequest {
                notification_id: id.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .notification
            .unwrap();
        let c = n.counts.unwrap();
        if ok(&c) {
            return c;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "counts not reached: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn deliveries_by_mid_and_reads_by_watermark_reach_the_right_deliveries() {
    let mut app = World::new().await.spawn().await;
    app.sim().set_auto_receipts(true, false);
    app.opt_in_many("t", "u", 5).await;
    let n = app.send("receipts", "t", pb::SendOptions::default()).await;
    app.wait_final(&n.notification_id).await;
    wait_counts(&mut app, &n.notification_id, |c| c.delivered == 5).await;
    app.sim().user_reads(PAGE, "u00001").await.unwrap();
    app.sim().user_reads(PAGE, "u00003").await.unwrap();
    let c = wait_counts(&mut app, &n.notification_id, |c| c.read == 2).await;
    assert_eq!((c.delivered, c.read), (3, 2));
}

#[tokio::test]
async fn a_delivery_receipt_without_mids_applies_up_to_its_watermark() {
    let mut app = World::new().await.spawn().await;
    app.opt_in_many("t", "w", 2).await;
    let n = app.send("watermark", "t", pb::SendOptions::default()).await;
    app.wait_final(&n.notification_id).await;
    let now = app.clock.now_ms();
    let delivery = event("w00000", now, "delivery", json!({ "watermark": now }));
    assert_eq!(
        post_signed(&app, body_of(now, vec![delivery])).await,
        reqwest::StatusCode::OK
    );
    let c = wait_counts(&mut app, &n.notification_id, |c| c.delivered == 1).await;
    assert_eq!(c.sent, 1, "only that person's messages");
    let read = event("w00001", now, "read", json!({ "watermark": now - 60_000 }));
    assert_eq!(
        post_signed(&app, body_of(now, vec![read])).await,
        reqwest::StatusCode::OK
    );
    let c = wait_counts(&mut app, &n.notification_id, |c| c.delivered == 1).await;
    assert_eq!(c.read, 0, "a watermark older than the send reads nothing");
}

#[tokio::test]
async fn engaging_with_a_notification_reopens_the_window_and_asks_for_the_next_opt_in() {
    let mut app = World::new().await.spawn().await;
    app.opt_in_many("back-in-stock:sku-7", "e", 1).await;
    let n = app
        .send(
            "rolling",
            "back-in-stock:sku-7",
            pb::SendOptions {
                rolling_consent: Some(pb::RollingConsent {
                    title: "Tell me about the next restock".into(),
                }),
                ..Default::default()
            },
        )
        .await;
    app.wait_final(&n.notification_id).await;
    app.sim()
        .user_sends_message(PAGE, "e00000", "I'll take two")
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app.sim().opt_in_requests_sent(PAGE, "e00000").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no rolling opt-in request"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let asked = app.sim().opt_in_requests_sent(PAGE, "e00000");
    assert_eq!(asked[0].title, "Tell me about the next restock");
    let mut stream = app
        .client
        .stream_delivery_events(pb::StreamDeliveryEventsRequest {
            notification_id: n.notification_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    loop {
        let ev = stream.message().await.unwrap().unwrap().event.unwrap();
        if ev.r#type == T::Engaged as i32 {
            assert_eq!(ev.psid, "e00000");
            break;
        }
    }
}

#[tokio::test]
async fn two_servers_on_one_database_share_a_send_and_each_stream_sees_every_event() {
    let world = World::new().await;
    let mut a = world.spawn().await;
    let mut b = world.spawn().await;
    let tokens = a.opt_in_many("shared", "s", 200).await;
    let from = a.running.last_event_sequence().await.unwrap();
    let mut streams = Vec::new();
    for app in [&mut a, &mut b] {
        streams.push(
            app.client
                .stream_delivery_events(pb::StreamDeliveryEventsRequest {
                    topic_key: "shared".into(),
                    after_sequence: from,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner(),
        );
    }
    let n = a
        .send("shared-send", "shared", pb::SendOptions::default())
        .await;
    b.wait_final(&n.notification_id).await;
    let stats = world.sim.stats();
    assert_eq!(stats.accepted_total, 200);
    assert!(tokens.iter().all(|t| stats.per_token.get(t) == Some(&1)));
    for mut s in streams {
        let mut sent = 0;
        let mut last = from;
        while sent < 200 {
            let ev = tokio::time::timeout(Duration::from_secs(10), s.message())
                .await
                .expect("event in time")
                .unwrap()
                .unwrap()
                .event
                .unwrap();
            assert!(ev.sequence > last, "strictly increasing");
            last = ev.sequence;
            sent += i32::from(ev.r#type == T::Sent as i32);
        }
    }
}
