//! Injected Send API faults: every eligible person still gets exactly one message (counted by
//! the simulator), and what may not be retried ends as a failed delivery with its reason.

use std::time::Duration;

use otn::v1::{self as pb, ExclusionReason};
use otn_simulator::Fault;
use otn_testkit::{PAGE, World};

#[tokio::test]
async fn retryable_faults_still_deliver_exactly_one_message_per_grant() {
    let world = World::new().await;
    let mut app = world.spawn_with(|c| c.graph_timeout_ms = 300).await;
    let tokens = app.opt_in_many("back-in-stock:sku-1", "f", 150).await;
    let slow = Duration::from_millis(600);
    let mut faults = Vec::new();
    for _ in 0..5 {
        faults.extend([
            Fault::RateLimitedWith {
                code: 4,
                regain_minutes: 0,
            },
            Fault::ServerError,
            Fault::ServerErrorCode(1200),
            Fault::Timeout(slow),
            Fault::AcceptThenTimeout(slow),
            Fault::DropConnection,
            Fault::AcceptThenDrop,
        ]);
    }
    app.sim().inject(faults);
    app.sim().set_fault_rate(Fault::ServerError, 50);
    let n = app
        .send("faulty", "back-in-stock:sku-1", pb::SendOptions::default())
        .await;
    let done = app.wait_final(&n.notification_id).await;
    app.sim().clear_faults();
    assert_eq!(done.counts.as_ref().unwrap().sent, 150, "{done:?}");
    let stats = app.sim().stats();
    for t in &tokens {
        assert_eq!(stats.per_token.get(t), Some(&1), "token {t} accepted once");
    }
    assert_eq!(stats.accepted_total, 150);
}

#[tokio::test]
async fn refusals_that_may_not_be_retried_end_as_failed_deliveries_with_their_reason() {
    let mut app = World::new().await.spawn().await;
    app.opt_in_many("topic-x", "n", 3).await;
    app.sim().inject(vec![
        Fault::TokenInvalid,
        Fault::Blocked,
        Fault::BlockedPage,
    ]);
    let n = app
        .send("refused", "topic-x", pb::SendOptions::default())
        .await;
    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(done.counts.as_ref().unwrap().failed, 3, "{done:?}");
    assert_eq!(app.sim().stats().accepted_total, 0);

    let mut stream = app
        .client
        .stream_delivery_events(pb::StreamDeliveryEventsRequest {
            notification_id: n.notification_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut reasons = Vec::new();
    while reasons.len() < 3 {
        let ev = stream.message().await.unwrap().unwrap().event.unwrap();
        if ev.r#type == pb::DeliveryEventType::Failed as i32 {
            reasons.push(ev.failure.unwrap().reason);
        }
    }
    reasons.sort();
    assert_eq!(reasons, ["TOKEN_REFUSED", "UNREACHABLE", "UNREACHABLE"]);

    // The invalid token's grant is dead; the other two were not spent and can be used again.
    let l = app
        .client
        .list_eligible(pb::ListEligibleRequest {
            include_total_size: true,
            page_id: PAGE.into(),
            topic_key: "topic-x".into(),
            explain_exclusions: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(l.total_size, 2);
    assert_eq!(
        l.exclusions,
        [pb::ExclusionCount {
            reason: ExclusionReason::Invalid as i32,
            count: 1
        }]
    );
}

#[tokio::test]
async fn a_rejected_page_token_pauses_the_page_and_sending_resumes_after() {
    let mut app = World::new().await.spawn().await;
    let tokens = app.opt_in_many("topic-p", "q", 5).await;
    app.sim().inject(vec![Fault::PageTokenInvalid]);
    let n = app
        .send("paused", "topic-p", pb::SendOptions::default())
        .await;
    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(done.counts.unwrap().sent, 5);
    let stats = app.sim().stats();
    assert!(tokens.iter().all(|t| stats.per_token.get(t) == Some(&1)));
}
