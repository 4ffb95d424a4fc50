//! End-to-end tests of sending against the simulator: exactly one message per grant, the
//! documented order, idempotency, races and cancellation.

use std::collections::HashSet;

use otn::v1::{self as pb, ExclusionReason, NotificationState};
use otn_testkit::{PAGE, reason, spawn_app};
use tonic::Code;

fn options(max: i32) -> pb::SendOptions {
    pb::SendOptions {
        max_recipients: max,
        ..Default::default()
    }
}

fn excluded(n: &pb::Notification, r: ExclusionReason) -> i64 {
    let plan = n.plan.as_ref().expect("plan");
    plan.exclusions
        .iter()
        .find(|e| e.reason == r as i32)
        .map_or(0, |e| e.count)
}

#[tokio::test]
async fn forty_of_a_thousand_opted_in_get_exactly_forty_messages_oldest_opt_in_first() {
    let mut app = spawn_app().await;
    let tokens = app.opt_in_many("back-in-stock:sku-123", "p", 1000).await;
    let n = app
        .send("restock-1", "back-in-stock:sku-123", options(40))
        .await;
    assert_eq!(n.plan.as_ref().unwrap().grant_sends, 40);
    assert_eq!(excluded(&n, ExclusionReason::MaxRecipients), 960);
    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(done.state, NotificationState::Completed as i32);
    assert_eq!(done.counts.as_ref().unwrap().sent, 40);

    let stats = app.sim().stats();
    assert_eq!(stats.accepted_total, 40);
    let sent: HashSet<&String> = stats.per_token.keys().collect();
    let oldest: HashSet<&String> = tokens[..40].iter().collect();
    assert_eq!(sent, oldest, "the 40 oldest opt-ins go first");
    assert!(stats.per_token.values().all(|n| *n == 1));

    let left = app
        .client
        .list_eligible(pb::ListEligibleRequest {
            include_total_size: true,
            page_id: PAGE.into(),
            topic_key: "back-in-stock:sku-123".into(),
            explain_exclusions: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(left.total_size, 960);
    let consumed = left
        .exclusions
        .iter()
        .find(|e| e.reason == ExclusionReason::Consumed as i32);
    assert_eq!(consumed.map(|e| e.count), Some(40));
}

#[tokio::test]
async fn two_racing_sends_never_spend_one_grant_twice() {
    let mut app = spawn_app().await;
    app.opt_in_many("price-drop:sku-9", "r", 300).await;
    let (mut a, mut b) = (app.client.clone(), app.client.clone());
    let req = |id: &str| pb::SendNotificationRequest {
        request_id: id.into(),
        page_id: PAGE.into(),
        topic_key: "price-drop:sku-9".into(),
        content: Some(pb::Content {
            body: Some(pb::content::Body::Text("Price drop!".into())),
        }),
        ..Default::default()
    };
    let (ra, rb) = tokio::join!(
        a.send_notification(req("race-a")),
        b.send_notification(req("race-b"))
    );
    let (na, nb) = (
        ra.unwrap().into_inner().notification.unwrap(),
        rb.unwrap().into_inner().notification.unwrap(),
    );
    let planned = na.plan.unwrap().grant_sends + nb.plan.unwrap().grant_sends;
    assert_eq!(planned, 300, "every grant planned exactly once across both");
    app.wait_final(&na.notification_id).await;
    app.wait_final(&nb.notification_id).await;
    let stats = app.sim().stats();
    assert_eq!(stats.accepted_total, 300);
    assert_eq!(stats.per_token.len(), 300);
    assert!(stats.per_token.values().all(|n| *n == 1));
}

#[tokio::test]
async fn the_same_request_id_twice_sends_once() {
    let mut app = spawn_app().await;
    app.opt_in_many("topic-a", "s", 20).await;
    let first = app.send("same-id", "topic-a", options(0)).await;
    let again = app.send("same-id", "topic-a", options(0)).await;
    assert_eq!(first.notification_id, again.notification_id);
    app.wait_final(&first.notification_id).await;
    assert_eq!(app.sim().stats().accepted_total, 20);

    let err = app
        .client
        .send_notification(pb::SendNotificationRequest {
            request_id: "same-id".into(),
            page_id: PAGE.into(),
            topic_key: "topic-a".into(),
            content: Some(pb::Content {
                body: Some(pb::content::Body::Text("another text".into())),
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
}

#[tokio::test]
async fn a_dry_run_plans_without_sending() {
    let mut app = spawn_app().await;
    app.opt_in_many("topic-a", "d", 10).await;
    let n = app
        .send(
            "dry",
            "topic-a",
            pb::SendOptions {
                max_recipients: 4,
                dry_run: true,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(n.state, NotificationState::Planned as i32);
    assert_eq!(n.plan.as_ref().unwrap().grant_sends, 4);
    assert_eq!(excluded(&n, ExclusionReason::MaxRecipients), 6);
    assert_eq!(app.sim().stats().accepted_total, 0);
    let eligible = app
        .client
        .list_eligible(pb::ListEligibleRequest {
            include_total_size: true,
            page_id: PAGE.into(),
            topic_key: "topic-a".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(eligible.total_size, 10, "a dry run reserves nothing");
}

#[tokio::test]
async fn cancelling_a_scheduled_send_returns_its_grants() {
    let mut app = spawn_app().await;
    app.opt_in_many("topic-a", "c", 15).await;
    let later = {
        use otn_server::clock::Clock;
        app.clock.now_ms() / 1000 + 3600
    };
    let n = app
        .send(
            "scheduled",
            "topic-a",
            pb::SendOptions {
                scheduled_time: Some(prost_types::Timestamp {
                    seconds: later,
                    nanos: 0,
                }),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(n.state, NotificationState::Scheduled as i32);
    let c = app
        .client
        .cancel_notification(pb::CancelNotificationRequest {
            notification_id: n.notification_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(c.cancelled_deliveries, 15);
    assert_eq!(
        c.notification.unwrap().state,
        NotificationState::Cancelled as i32
    );
    app.clock.advance(chrono::Duration::hours(2));
    let again = app.send("after-cancel", "topic-a", options(0)).await;
    assert_eq!(
        again.plan.unwrap().grant_sends,
        15,
        "the grants are usable again"
    );
    app.wait_final(&again.notification_id).await;
    assert_eq!(app.sim().stats().accepted_total, 15);
    let err = app
        .client
        .cancel_notification(pb::CancelNotificationRequest {
            notification_id: n.notification_id,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "NOTIFICATION_FINAL");
}

#[tokio::test]
async fn content_is_validated_field_by_field() {
    let mut app = spawn_app().await;
    let err = app
        .client
        .send_notification(pb::SendNotificationRequest {
            request_id: "bad".into(),
            page_id: PAGE.into(),
            topic_key: "topic-a".into(),
            content: Some(pb::Content {
                body: Some(pb::content::Body::ButtonTemplate(pb::ButtonTemplate {
                    text: "x".repeat(641),
                    buttons: vec![pb::Button {
                        title: "a title that is too long".into(),
                        action: Some(pb::button::Action::WebUrl("ftp://nope".into())),
                    }],
                })),
            }),
            options: Some(pb::SendOptions {
                message_tag: "HUMAN_AGENT".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        otn_testkit::violated_fields(&err),
        [
            "content.button_template.text",
            "content.button_template.buttons[0].title",
            "content.button_template.buttons[0].web_url",
            "options.message_tag",
        ]
    );
}
