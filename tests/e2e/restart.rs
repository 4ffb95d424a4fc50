//! Crash and restart: a send interrupted by a restart finishes with nothing sent twice, and a
//! delivery-event stream resumed from a sequence number sees every later event exactly once.

use std::time::Duration;

use otn::v1 as pb;
use otn_testkit::World;

#[tokio::test]
async fn a_restart_mid_dispatch_sends_the_rest_and_nothing_twice() {
    let world = World::new().await;
    let slow = |c: &mut otn_server::config::Config| c.pages[0].rate_limit_per_sec = 100;
    let mut app = world.spawn_with(slow).await;
    let tokens = app.opt_in_many("topic-r", "k", 300).await;
    let n = app
        .send("interrupted", "topic-r", pb::SendOptions::default())
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while app.sim().stats().accepted_total < 50 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.running.shutdown().await;
    let before = app.world.sim.stats().accepted_total;
    assert!(
        before < 300,
        "the restart happened mid-dispatch ({before} sent)"
    );
    let mut app = world.spawn().await;
    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(done.counts.unwrap().sent, 300);
    let stats = app.sim().stats();
    assert_eq!(stats.accepted_total, 300);
    assert!(tokens.iter().all(|t| stats.per_token.get(t) == Some(&1)));
}

async fn events(client: &mut otn_testkit::Client, after: i64, until: i64) -> Vec<i64> {
    let mut stream = client
        .stream_delivery_events(pb::StreamDeliveryEventsRequest {
            after_sequence: after,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut seqs = Vec::new();
    while seqs.last().is_none_or(|s| *s < until) {
        let ev = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("event in time")
            .unwrap()
            .unwrap()
            .event
            .unwrap();
        seqs.push(ev.sequence);
    }
    seqs
}

#[tokio::test]
async fn a_stream_resumed_after_a_restart_sees_every_later_event_exactly_once() {
    let world = World::new().await;
    let mut app = world.spawn().await;
    app.opt_in_many("topic-s", "e", 20).await;
    let n = app
        .send("streamed", "topic-s", pb::SendOptions::default())
        .await;
    app.wait_final(&n.notification_id).await;
    let last = app.running.last_event_sequence().await.unwrap();
    let first_half = events(&mut app.client, 0, last / 2).await;
    let resume_after = *first_half.last().unwrap();

    let mut app = app.restart().await;
    app.opt_in_many("topic-s2", "g", 5).await;
    let n2 = app
        .send("after-restart", "topic-s2", pb::SendOptions::default())
        .await;
    app.wait_final(&n2.notification_id).await;
    let last = app.running.last_event_sequence().await.unwrap();
    let rest = events(&mut app.client, resume_after, last).await;

    let mut all = first_half.clone();
    all.extend(&rest);
    assert_eq!(all, (1..=last).collect::<Vec<_>>(), "no gap, no duplicate");
}
