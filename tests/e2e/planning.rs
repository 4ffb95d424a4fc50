//! Sends planned in chunks: the call answers at once with the intent stored, the first sends go
//! while later chunks are planned, `max_recipients` keeps the oldest opt-ins across chunks, a
//! cancel mid-way stops the planning, and every grant is spent once.

use otn::v1 as pb;
use otn_testkit::World;

const TOPIC: &str = "back-in-stock:sku-planned";

fn counts(n: &pb::Notification) -> pb::DeliveryCounts {
    n.counts.unwrap_or_default()
}

fn plan(n: &pb::Notification) -> pb::SendPlan {
    n.plan.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_send_is_answered_before_it_is_planned_and_every_grant_is_sent_once() {
    let world = World::new().await;
    // Nothing planned inline: the call stores the intent and answers.
    let mut app = world
        .spawn_with(|c| c.dispatch.inline_planning_ms = 0)
        .await;
    let tokens = app.opt_in_many(TOPIC, "p", 1_300).await;
    let n = app.send("big", TOPIC, pb::SendOptions::default()).await;
    assert!(n.planning, "answered before planning: {n:?}");
    assert_eq!(plan(&n).grant_sends, 0);
    let done = app.wait_final(&n.notification_id).await;
    assert!(!done.planning);
    assert_eq!(done.state, pb::NotificationState::Completed as i32);
    assert_eq!(plan(&done).grant_sends, 1_300);
    assert_eq!(counts(&done).sent, 1_300);
    for t in &tokens {
        assert_eq!(app.sim().accepted_for_token(t), 1, "each grant spent once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_recipients_keeps_the_oldest_opt_ins_across_chunks() {
    let world = World::new().await;
    let mut app = world
        .spawn_with(|c| c.dispatch.inline_planning_ms = 0)
        .await;
    // p00000 opted in first; row ids do not follow opt-in times.
    let tokens = app.opt_in_many(TOPIC, "p", 1_500).await;
    let n = app
        .send(
            "oldest",
            TOPIC,
            pb::SendOptions {
                max_recipients: 1_100,
                ..Default::default()
            },
        )
        .await;
    let done = app.wait_final(&n.notification_id).await;
    let p = plan(&done);
    assert_eq!(p.grant_sends, 1_100);
    let over = p
        .exclusions
        .iter()
        .find(|e| e.reason == pb::ExclusionReason::MaxRecipients as i32)
        .map(|e| e.count);
    assert_eq!(over, Some(400));
    let sent: Vec<usize> = (0..tokens.len())
        .filter(|i| app.sim().accepted_for_token(&tokens[*i]) == 1)
        .collect();
    assert_eq!(
        sent,
        (0..1_100).collect::<Vec<_>>(),
        "the 1,100 oldest opt-ins"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_cancelled_while_it_is_planned_queues_nothing_more_and_gives_grants_back() {
    let world = World::new().await;
    let mut app = world
        .spawn_with(|c| {
            c.dispatch.inline_planning_ms = 0;
            // Slow sends, so most deliveries are still queued when the cancel comes.
            c.pages[0].rate_limit_per_sec = 20;
        })
        .await;
    let tokens = app.opt_in_many(TOPIC, "p", 1_300).await;
    let n = app
        .send("cancel-me", TOPIC, pb::SendOptions::default())
        .await;
    let cancelled = app
        .client
        .cancel_notification(pb::CancelNotificationRequest {
            notification_id: n.notification_id.clone(),
        })
        .await
        .expect("cancel")
        .into_inner();
    let c = cancelled.notification.expect("notification");
    assert_eq!(c.state, pb::NotificationState::Cancelled as i32);
    assert!(!c.planning, "planning stops with the cancel");
    let done = app.wait_final(&n.notification_id).await;
    let before = counts(&done);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let after = counts(&app.notification(&n.notification_id).await);
    let total = |c: &pb::DeliveryCounts| {
        c.queued + c.sending + c.sent + c.delivered + c.read + c.failed + c.cancelled
    };
    assert_eq!(
        total(&after),
        total(&before),
        "nothing queued after the cancel"
    );
    assert_eq!(after.queued, 0);
    let sent: i64 = tokens
        .iter()
        .map(|t| app.sim().accepted_for_token(t) as i64)
        .sum();
    assert!(sent <= after.sent + after.sending, "{sent} sent, {after:?}");
    // Every grant not spent is eligible again.
    let l = app.eligible(TOPIC).await;
    assert_eq!(l.total_size + sent, 1_300, "{l:?}");
}
