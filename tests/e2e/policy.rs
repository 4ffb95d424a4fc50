//! The dated rules deciding each send, end to end with a frozen clock: the window, retired
//! tags, regions and the marketing cooldown; every delivery names the rule that decided it.

use chrono::{Duration, TimeZone, Utc};
use otn::v1::{self as pb, ExclusionReason};
use otn_server::clock::ManualClock;
use otn_testkit::{PAGE, World};

fn excluded(n: &pb::Notification, r: ExclusionReason) -> i64 {
    n.plan
        .as_ref()
        .unwrap()
        .exclusions
        .iter()
        .find(|e| e.reason == r as i32)
        .map_or(0, |e| e.count)
}

/// On a frozen clock a retry never comes due, so no attempt may time out, even on a loaded
/// machine: the Graph API timeout is far above the simulator's answer time.
fn patient(c: &mut otn_server::config::Config) {
    c.graph_timeout_ms = 10_000;
}

async fn world_at(y: i32, m: u32, d: u32) -> World {
    World::with_clock(ManualClock::frozen(
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap(),
    ))
    .await
}

async fn grant(
    app: &mut otn_testkit::TestApp,
    psid: &str,
    topic: &str,
    kind: pb::GrantKind,
    region: &str,
) -> String {
    let token = match kind {
        pb::GrantKind::MarketingMessages => app.sim().issue_marketing_token(PAGE, psid),
        _ => app.sim().issue_otn_token(PAGE, psid),
    };
    app.client
        .record_opt_in(pb::RecordOptInRequest {
            page_id: PAGE.into(),
            psid: psid.into(),
            topic_key: topic.into(),
            kind: kind as i32,
            token: token.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    app.client
        .update_recipient(pb::UpdateRecipientRequest {
            page_id: PAGE.into(),
            psid: psid.into(),
            region: Some(region.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    token
}

async fn rules_of(app: &mut otn_testkit::TestApp, notification_id: &str, n: usize) -> Vec<String> {
    let mut stream = app
        .client
        .stream_delivery_events(pb::StreamDeliveryEventsRequest {
            notification_id: notification_id.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut rules = Vec::new();
    while rules.len() < n {
        let ev = stream.message().await.unwrap().unwrap().event.unwrap();
        if ev.r#type == pb::DeliveryEventType::Sent as i32 {
            rules.push(ev.rule);
        }
    }
    rules.sort();
    rules
}

#[tokio::test]
async fn one_time_grants_skip_eea_recipients_and_every_send_names_its_rule() {
    let mut app = world_at(2026, 11, 1).await.spawn_with(patient).await;
    grant(
        &mut app,
        "in-us",
        "t",
        pb::GrantKind::OneTimeNotification,
        "US",
    )
    .await;
    grant(
        &mut app,
        "in-de",
        "t",
        pb::GrantKind::OneTimeNotification,
        "DE",
    )
    .await;
    let n = app.send("regions", "t", pb::SendOptions::default()).await;
    assert_eq!(n.plan.as_ref().unwrap().grant_sends, 1);
    assert_eq!(excluded(&n, ExclusionReason::RegionPolicy), 1);
    app.wait_final(&n.notification_id).await;
    assert_eq!(
        rules_of(&mut app, &n.notification_id, 1).await,
        ["grant.one_time_notification"]
    );
}

#[tokio::test]
async fn the_window_path_reaches_people_without_a_grant_only_inside_24_hours() {
    let mut app = world_at(2026, 11, 1).await.spawn_with(patient).await;
    let t = grant(
        &mut app,
        "w1",
        "t",
        pb::GrantKind::OneTimeNotification,
        "US",
    )
    .await;
    let first = app.send("first", "t", pb::SendOptions::default()).await;
    app.wait_final(&first.notification_id).await;
    assert_eq!(app.sim().accepted_for_token(&t), 1);
    app.interact("w1").await;
    let with_window = pb::SendOptions {
        include_window_recipients: true,
        dry_run: true,
        ..Default::default()
    };
    let n = app.send("window", "t", with_window.clone()).await;
    assert_eq!(n.plan.as_ref().unwrap().window_sends, 1);
    let n = app
        .send(
            "no-window",
            "t",
            pb::SendOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(excluded(&n, ExclusionReason::Consumed), 1);
    app.clock.advance(Duration::hours(25));
    let n = app.send("window-closed", "t", with_window).await;
    assert_eq!(n.plan.as_ref().unwrap().window_sends, 0);
    assert_eq!(excluded(&n, ExclusionReason::Consumed), 1);
}

#[tokio::test]
async fn message_tags_retired_on_2026_04_27_exclude_instead_of_sending() {
    let mut app = world_at(2026, 4, 25).await.spawn_with(patient).await;
    let tagged = |dry_run| pb::SendOptions {
        message_tag: "POST_PURCHASE_UPDATE".into(),
        dry_run,
        ..Default::default()
    };
    let audience = Some(pb::Audience {
        selection: Some(pb::audience::Selection::Recipients(pb::RecipientList {
            psids: vec!["buyer".into()],
        })),
    });
    app.client
        .record_interaction(pb::RecordInteractionRequest {
            page_id: PAGE.into(),
            psid: "buyer".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    app.clock.advance(Duration::hours(30));
    let mut req = pb::SendNotificationRequest {
        request_id: "before".into(),
        page_id: PAGE.into(),
        topic_key: "order-123".into(),
        audience,
        content: Some(pb::Content {
            body: Some(pb::content::Body::Text("Your order shipped".into())),
        }),
        options: Some(tagged(true)),
    };
    let before = app
        .client
        .send_notification(req.clone())
        .await
        .unwrap()
        .into_inner()
        .notification
        .unwrap();
    assert_eq!(before.plan.as_ref().unwrap().tag_sends, 1);
    app.clock.advance(Duration::days(1));
    req.request_id = "after".into();
    let after = app
        .client
        .send_notification(req)
        .await
        .unwrap()
        .into_inner()
        .notification
        .unwrap();
    assert_eq!(after.plan.as_ref().unwrap().tag_sends, 0);
    assert_eq!(excluded(&after, ExclusionReason::TagRetired), 1);
}

#[tokio::test]
async fn a_marketing_token_waits_48_hours_between_sends() {
    let mut app = world_at(2026, 3, 2).await.spawn_with(patient).await;
    let t = grant(
        &mut app,
        "fan",
        "weekly",
        pb::GrantKind::MarketingMessages,
        "JP",
    )
    .await;
    let first = app
        .send("week-1", "weekly", pb::SendOptions::default())
        .await;
    app.wait_final(&first.notification_id).await;
    app.clock.advance(Duration::hours(30));
    let early = app
        .send("too-soon", "weekly", pb::SendOptions::default())
        .await;
    assert_eq!(excluded(&early, ExclusionReason::Cooldown), 1);
    app.clock.advance(Duration::hours(19));
    let later = app
        .send("week-2", "weekly", pb::SendOptions::default())
        .await;
    app.wait_final(&later.notification_id).await;
    assert_eq!(
        app.sim().accepted_for_token(&t),
        2,
        "a marketing token is reusable"
    );
}
