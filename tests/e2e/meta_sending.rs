//! Sending as Meta answers it: watermarks on Meta's clock across a real round trip, what an
//! answer after an ambiguous attempt means, paid subscription tokens, the Marketing Messages
//! opt-in by region, a restricted page, and people Meta says are busy.

use std::time::Duration;

use otn::v1::{self as pb, DeliveryEventType as T, ExclusionReason};
use otn_server::clock::Clock;
use otn_simulator::{Fault, GrantKind as SimKind};
use otn_testkit::meta::*;
use otn_testkit::{PAGE, World};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn watermarks_are_meta_time_of_the_message_even_with_a_round_trip() {
    let mut app = World::new().await.spawn().await;
    app.sim().set_latency(Duration::from_millis(150));
    app.opt_in_many("t", "w", 6).await;
    let n = app.send("wm", "t", pb::SendOptions::default()).await;
    app.wait_final(&n.notification_id).await;
    // Meta stamped each message when it took it, 150 ms before it answered.
    let stamps: Vec<(String, i64)> = app
        .sim()
        .accepted_messages()
        .iter()
        .map(|m| (m.recipient_psid.clone(), m.accepted_at_ms))
        .collect();
    assert_eq!(stamps.len(), 6);
    let now = app.clock.now_ms();
    let mut events = Vec::new();
    for (i, (psid, at)) in stamps.iter().enumerate() {
        events.push(match i % 2 {
            // A delivery receipt without mids: everything up to the watermark.
            0 => event(psid, now, "delivery", json!({ "watermark": at })),
            _ => event(psid, now, "read", json!({ "watermark": at })),
        });
    }
    assert_eq!(
        post_signed(&app, body_of(now, events)).await,
        StatusCode::OK
    );
    let c = app
        .wait_counts(&n.notification_id, |c| c.delivered == 3 && c.read == 3)
        .await;
    assert_eq!(c.sent, 0, "{c:?}");
}

#[tokio::test]
async fn after_a_timeout_only_the_spent_token_refusal_means_the_message_went_out() {
    let world = World::new().await;
    // The timeout is short enough to keep the test quick, long enough that an answer the
    // simulator gives at once arrives within it on a loaded machine.
    let mut app = world.spawn_with(|c| c.graph_timeout_ms = 1_500).await;
    let tokens = app.opt_in_many("t", "a", 2).await;
    let slow = Duration::from_secs(3);
    app.sim().inject(vec![
        // First person: nothing reached Meta, then "No matching user found".
        Fault::Timeout(slow),
        Fault::Refused {
            code: 100,
            subcode: Some(2018001),
            message: "(#100) No matching user found".into(),
        },
    ]);
    let n = app.send("ambiguous", "t", pb::SendOptions::default()).await;
    let done = app.wait_final(&n.notification_id).await;
    let c = done.counts.unwrap();
    assert_eq!((c.sent, c.failed), (1, 1), "{c:?}");
    let events = app.events_of(&n.notification_id).await;
    let failed = events
        .iter()
        .find(|e| e.r#type == T::Failed as i32)
        .expect("one failed");
    let f = failed.failure.as_ref().unwrap();
    assert_eq!((f.code, f.subcode), (100, 2018001));
    assert_eq!(f.reason, "INVALID_PARAMETER", "not read as sent");
    // The grant of the failed delivery was not spent: it is eligible again.
    assert_eq!(psids(&app.eligible("t").await), vec![failed.psid.clone()]);
    let stats = app.sim().stats();
    assert_eq!(stats.accepted_total, 1);
    assert_eq!(
        tokens
            .iter()
            .map(|t| stats.per_token.get(t).copied().unwrap_or(0))
            .sum::<u32>(),
        1
    );
}

#[tokio::test]
async fn a_5xx_after_meta_accepted_is_ambiguous_and_the_retry_finds_the_token_spent() {
    let mut app = World::new().await.spawn().await;
    let tokens = app.opt_in_many("t", "x", 4).await;
    app.sim().inject(vec![Fault::AcceptThenServerError; 4]);
    let n = app.send("five-xx", "t", pb::SendOptions::default()).await;
    let done = app.wait_final(&n.notification_id).await;
    let c = done.counts.unwrap();
    assert_eq!((c.sent, c.failed), (4, 0), "{c:?}");
    let stats = app.sim().stats();
    for t in &tokens {
        assert_eq!(
            stats.per_token.get(t),
            Some(&1),
            "{t} accepted exactly once"
        );
    }
    let l = app.eligible("t").await;
    assert_eq!(l.total_size, 0);
    assert_eq!(
        excluded(&l, ExclusionReason::Consumed),
        4,
        "CONSUMED, not INVALID"
    );
}

#[tokio::test]
async fn a_paid_subscription_token_is_planned_out_and_never_sent_the_wrong_way() {
    let mut app = World::new().await.spawn().await;
    app.client
        .record_opt_in(pb::RecordOptInRequest {
            page_id: PAGE.into(),
            psid: "s1".into(),
            topic_key: "t".into(),
            kind: pb::GrantKind::MarketingSubscription as i32,
            token: "paid-subscription-token".into(),
            ..Default::default()
        })
        .await
        .expect("recorded and listed");
    app.opt_in_many("t", "o", 1).await;
    let n = app.send("paid", "t", pb::SendOptions::default()).await;
    let excl = n.plan.as_ref().expect("plan").exclusions.clone();
    let kind = excl
        .iter()
        .find(|e| e.reason == ExclusionReason::KindNotSupported as i32)
        .expect("the paid token is planned out");
    assert_eq!(kind.count, 1);
    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(done.counts.unwrap().sent, 1);
    assert!(
        app.sim()
            .accepted_messages()
            .iter()
            .all(|m| m.recipient_psid != "s1"),
        "nothing went to /me/messages with the paid token"
    );
    let l = app.eligible("t").await;
    assert_eq!(psids(&l), ["s1"], "the paid grant is still there, unspent");
}

#[tokio::test]
async fn the_marketing_messages_opt_in_is_asked_where_the_legacy_one_may_not_be() {
    let mut app = World::new().await.spawn().await;
    app.interact("fr1").await;
    app.client
        .update_recipient(pb::UpdateRecipientRequest {
            page_id: PAGE.into(),
            psid: "fr1".into(),
            region: Some("FR".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut legacy = opt_in_req("legacy", "fr1", "Back in stock");
    legacy.template = pb::OptInTemplate::OneTimeNotification as i32;
    let err = app.client.request_opt_in(legacy).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert_eq!(otn_testkit::reason(&err), "REGION_NOT_ALLOWED");

    let mut req = opt_in_req("marketing", "fr1", "Deals on running shoes");
    req.marketing = Some(pb::MarketingOptIn {
        image_url: "https://shop.example/deals.png".into(),
        image_aspect_ratio: pb::ImageAspectRatio::Square as i32,
        cta_text: pb::CtaText::GetUpdates as i32,
        timezone: "Europe/Paris".into(),
        reoptin: true,
    });
    let sent = app.client.request_opt_in(req).await.unwrap().into_inner();
    let at_meta = app.sim().opt_in_requests_sent(PAGE, "fr1");
    assert_eq!(at_meta.len(), 1);
    assert_eq!(
        at_meta[0].kind,
        SimKind::NotificationMessages,
        "chosen by region"
    );
    let t = &at_meta[0].template;
    assert_eq!(t["template_type"], "notification_messages");
    assert_eq!(t["image_url"], "https://shop.example/deals.png");
    assert_eq!(t["image_aspect_ratio"], "SQUARE");
    assert_eq!(t["notification_messages_cta_text"], "GET_UPDATES");
    assert_eq!(t["notification_messages_timezone"], "Europe/Paris");
    assert_eq!(t["notification_messages_reoptin"], "ENABLED");
    assert!(sent.opt_in_request.is_some());

    // The person taps it: the token arrives with the payload the service put on the request.
    let payload = at_meta[0].payload.clone();
    let token = app
        .sim()
        .user_opts_in_marketing(PAGE, "fr1", "Deals on running shoes", &payload)
        .await
        .unwrap();
    let l = otn_testkit::eventually("grant recorded", Duration::from_secs(5), || {
        let mut app_client = app.client.clone();
        async move {
            let l = app_client
                .list_eligible(pb::ListEligibleRequest {
                    page_id: PAGE.into(),
                    topic_key: "back-in-stock:sku-123".into(),
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())?
                .into_inner();
            match l.recipients.len() {
                1 => Ok(l),
                n => Err(format!("{n} eligible")),
            }
        }
    })
    .await;
    let g = &of(&l, "fr1").grants[0];
    assert_eq!(g.kind, pb::GrantKind::MarketingMessages as i32);
    assert!(!token.is_empty());
}

#[tokio::test]
async fn a_restricted_page_pauses_instead_of_failing_its_fan_out() {
    let mut app = World::new().await.spawn().await;
    app.opt_in_many("t", "r", 20).await;
    app.sim().inject(vec![Fault::Refused {
        code: 10,
        subcode: Some(1893063),
        message: "(#10) This Page is restricted from messaging.".into(),
    }]);
    let n = app
        .send("restricted", "t", pb::SendOptions::default())
        .await;
    let done = app.wait_final(&n.notification_id).await;
    let c = done.counts.unwrap();
    assert_eq!((c.sent, c.failed), (20, 0), "{c:?}");
    assert_eq!(app.sim().stats().accepted_total, 20);
}

#[tokio::test]
async fn a_person_meta_says_is_busy_is_retried_later_with_the_same_token() {
    let mut app = World::new().await.spawn().await;
    let tokens = app.opt_in_many("t", "b", 1).await;
    app.sim().inject(vec![Fault::Refused {
        code: 100,
        subcode: Some(2300052),
        message: "This person is not available right now.".into(),
    }]);
    let n = app.send("busy", "t", pb::SendOptions::default()).await;
    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(done.counts.unwrap().sent, 1);
    let events = app.events_of(&n.notification_id).await;
    let retry = events
        .iter()
        .find(|e| e.r#type == T::RetryScheduled as i32)
        .expect("a retry");
    assert_eq!(
        retry.failure.as_ref().unwrap().reason,
        "PERSON_UNAVAILABLE_NOW"
    );
    assert_eq!(app.sim().stats().per_token.get(&tokens[0]), Some(&1));
}
