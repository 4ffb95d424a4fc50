//! Meta's `message_echoes` as evidence: an echo carrying otn's metadata confirms a delivery
//! whose outcome was unknown (and gives it the mid receipts need), also when it arrives before
//! the Send API answers; without evidence a send that may have reached Meta ends UNCONFIRMED,
//! its grant spent, never FAILED. Payloads are shaped as Meta documents them.

use std::time::Duration;

use otn::v1::{self as pb, DeliveryEventType as T, ExclusionReason};
use otn_server::clock::Clock;
use otn_simulator::Fault;
use otn_testkit::books::books_of;
use otn_testkit::meta::*;
use otn_testkit::{PAGE, TestApp, World};
use reqwest::StatusCode;

const TOPIC: &str = "back-in-stock:sku-e";

/// The (mid, metadata, Meta's time) of each message Meta accepted, oldest first.
fn accepted(app: &TestApp) -> Vec<(String, String, i64)> {
    app.sim()
        .accepted_messages()
        .iter()
        .map(|m| {
            let meta = m.message["metadata"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (m.mid.clone(), meta, m.accepted_at_ms)
        })
        .collect()
}

/// Waits until Meta (the stand-in) has accepted `n` messages.
async fn meta_accepted(app: &TestApp, n: u64) {
    let sim = app.sim().clone();
    otn_testkit::eventually("accepted by Meta", Duration::from_secs(10), || async {
        match sim.accepted_count() {
            c if c == n => Ok(()),
            c => Err(format!("{c} accepted")),
        }
    })
    .await;
}

fn of_type(events: &[pb::DeliveryEvent], t: T) -> Vec<&pb::DeliveryEvent> {
    events.iter().filter(|e| e.r#type == t as i32).collect()
}

#[tokio::test]
async fn retries_that_never_stop_being_ambiguous_end_unconfirmed_until_the_echo_confirms_them() {
    let world = World::new().await;
    let mut app = world.spawn_with(|c| c.dispatch.max_attempts = 3).await;
    let tokens = app.opt_in_many(TOPIC, "u", 1).await;
    // Meta accepts the first attempt, then answers HTTP 500 {code: 2, is_transient} to it and
    // to every retry (each retry meets the spent token, but the 500 hides the refusal).
    app.sim().inject(vec![Fault::AcceptThenServerError; 3]);
    let n = app
        .send("ambiguous", TOPIC, pb::SendOptions::default())
        .await;
    let done = app.wait_final(&n.notification_id).await;
    let c = done.counts.unwrap();
    assert_eq!(done.state, pb::NotificationState::Completed as i32);
    assert_eq!((c.sent, c.failed, c.unconfirmed), (0, 0, 1), "{c:?}");
    let events = app.events_of(&n.notification_id).await;
    let given_up = of_type(&events, T::Unconfirmed);
    assert_eq!(given_up.len(), 1);
    let f = given_up[0].failure.as_ref().unwrap();
    assert_eq!((f.reason.as_str(), f.code), ("GAVE_UP_UNKNOWN_OUTCOME", 2));
    assert!(of_type(&events, T::Failed).is_empty());
    // The grant is spent, never given back.
    let l = app.eligible(TOPIC).await;
    assert_eq!(l.total_size, 0);
    assert_eq!(excluded(&l, ExclusionReason::Consumed), 1);
    assert_eq!(app.sim().stats().per_token.get(&tokens[0]), Some(&1));

    // Receipts by watermark alone do not confirm it: they are kept for the echo.
    let (mid, metadata, at) = accepted(&app).remove(0);
    let now = app.clock.now_ms();
    let receipts = vec![
        delivery("u00000", &[], now),
        event(
            "u00000",
            now,
            "read",
            serde_json::json!({ "watermark": now }),
        ),
    ];
    assert_eq!(
        post_signed(&app, body_of(now, receipts)).await,
        StatusCode::OK
    );
    let c = app.notification(&n.notification_id).await.counts.unwrap();
    assert_eq!((c.unconfirmed, c.read), (1, 0), "{c:?}");

    // Meta's echo of the message, with otn's metadata: SENT with its mid, and the kept
    // receipts apply at once.
    let echo_body = body_of(
        now,
        vec![echo("u00000", at, &mid, Some(&metadata), "Back!")],
    );
    assert_eq!(post_signed(&app, echo_body.clone()).await, StatusCode::OK);
    let c = app
        .wait_counts(&n.notification_id, |c| c.unconfirmed == 0)
        .await;
    assert_eq!((c.read, c.failed), (1, 0), "{c:?}");
    // Meta delivers webhooks more than once: the same echo again changes nothing.
    assert_eq!(post_signed(&app, echo_body).await, StatusCode::OK);
    let events = app.events_of(&n.notification_id).await;
    let sent = of_type(&events, T::Sent);
    assert_eq!(sent.len(), 1, "{events:?}");
    assert_eq!(
        (sent[0].message_id.as_str(), sent[0].actor.as_str()),
        (mid.as_str(), "meta")
    );
    assert_eq!(books_of(&events).last.get("u00000"), Some(&T::Read));
}

#[tokio::test]
async fn an_echo_arriving_after_the_timeout_confirms_a_delivery_waiting_to_retry() {
    let world = World::new().await;
    let mut app = world
        .spawn_with(|c| {
            c.graph_timeout_ms = 1_000;
            c.dispatch.backoff_base_ms = 5_000;
            c.dispatch.backoff_max_ms = 5_000;
        })
        .await;
    let tokens = app.opt_in_many(TOPIC, "x", 2).await;
    // Both messages are taken and answered after the Graph timeout; a retry would meet a 500.
    let mut faults = vec![Fault::AcceptThenTimeout(Duration::from_secs(3)); 2];
    faults.extend(vec![Fault::AcceptThenServerError; 14]);
    app.sim().inject(faults);
    let n = app.send("late", TOPIC, pb::SendOptions::default()).await;
    let id = n.notification_id.clone();
    // Both wait to retry an attempt whose outcome is unknown; then Meta's echoes come.
    meta_accepted(&app, 2).await;
    app.wait_counts(&id, |c| c.queued == 2 && c.sending == 0)
        .await;
    let now = app.clock.now_ms();
    let echoes: Vec<_> = app
        .sim()
        .accepted_messages()
        .iter()
        .map(|m| {
            let meta = m.message["metadata"].as_str().unwrap_or_default();
            echo(
                &m.recipient_psid,
                m.accepted_at_ms,
                &m.mid,
                Some(meta),
                "Back!",
            )
        })
        .collect();
    assert_eq!(echoes.len(), 2);
    assert_eq!(
        post_signed(&app, body_of(now, echoes)).await,
        StatusCode::OK
    );
    let books = app.assert_books_agree(&id).await;
    assert_eq!(books.sent.len(), 2, "{books:?}");
    let stats = app.sim().stats();
    assert!(tokens.iter().all(|t| stats.per_token.get(t) == Some(&1)));
    let events = app.events_of(&id).await;
    let sent = of_type(&events, T::Sent);
    let mut mids: Vec<String> = sent.iter().map(|e| e.message_id.clone()).collect();
    let mut want: Vec<String> = accepted(&app).into_iter().map(|(m, _, _)| m).collect();
    mids.sort();
    want.sort();
    assert_eq!(mids, want, "each SENT carries the echo's mid");
    assert!(
        sent.iter().all(|e| e.actor == "meta"),
        "confirmed by the echo"
    );
    assert!(of_type(&events, T::Unconfirmed).is_empty());
    let l = app.eligible(TOPIC).await;
    assert_eq!(excluded(&l, ExclusionReason::Consumed), 2);
}

#[tokio::test]
async fn an_echo_posted_before_the_send_api_answers_is_kept_and_makes_the_answer_sent() {
    let mut app = World::new().await.spawn().await;
    app.sim().set_echoes(true);
    app.sim().set_echo_before_answer(true);
    app.opt_in_many(TOPIC, "b", 3).await;
    // Meta echoes each message (the webhook answered 200) and only then answers the Send API
    // with a 500: the echo is all that says they went out.
    app.sim().inject(vec![Fault::AcceptThenServerError; 3]);
    let n = app
        .send("early-echo", TOPIC, pb::SendOptions::default())
        .await;
    let books = app.assert_books_agree(&n.notification_id).await;
    assert_eq!(books.sent.len(), 3, "{books:?}");
    assert_eq!(
        app.sim().call_times(PAGE).len(),
        3,
        "no retry: the kept echo settled each first attempt"
    );
    let events = app.events_of(&n.notification_id).await;
    let mids: Vec<String> = of_type(&events, T::Sent)
        .iter()
        .map(|e| e.message_id.clone())
        .collect();
    let mut want: Vec<String> = accepted(&app).into_iter().map(|(m, _, _)| m).collect();
    let mut got = mids.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want, "each SENT carries the echo's mid");
    assert!(of_type(&events, T::RetryScheduled).is_empty());
}

#[tokio::test]
async fn an_echo_that_arrives_while_its_attempt_is_in_flight_is_applied_with_its_outcome() {
    let world = World::new().await;
    let mut app = world
        .spawn_with(|c| {
            c.graph_timeout_ms = 3_000;
            // The claim outlives the call: no other claim takes the delivery over meanwhile.
            c.dispatch.lease_ms = 30_000;
        })
        .await;
    app.opt_in_many(TOPIC, "f", 1).await;
    // Meta takes the message and stalls its answer past the Graph timeout.
    app.sim()
        .inject(vec![Fault::AcceptThenTimeout(Duration::from_secs(6))]);
    let n = app
        .send("in-flight", TOPIC, pb::SendOptions::default())
        .await;
    meta_accepted(&app, 1).await;
    // The attempt is still waiting for its answer: the echo comes now.
    let (mid, metadata, at) = accepted(&app).remove(0);
    let now = app.clock.now_ms();
    let body = body_of(
        now,
        vec![echo("f00000", at, &mid, Some(&metadata), "Back!")],
    );
    assert_eq!(post_signed(&app, body).await, StatusCode::OK);
    let c = app.notification(&n.notification_id).await.counts.unwrap();
    assert_eq!(c.sending, 1, "the echo did not wait for the attempt: {c:?}");
    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(done.counts.unwrap().sent, 1);
    let events = app.events_of(&n.notification_id).await;
    let sent = of_type(&events, T::Sent);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message_id, mid);
    assert_ne!(sent[0].actor, "meta", "recorded with the attempt's outcome");
    assert_eq!(app.sim().call_times(PAGE).len(), 1, "never retried");
}

#[tokio::test]
async fn echoes_that_are_not_otns_or_unreadable_change_nothing_and_never_cost_their_batch() {
    let mut app = World::new().await.spawn().await;
    app.opt_in_many(TOPIC, "n", 1).await;
    let n = app.send("plain", TOPIC, pb::SendOptions::default()).await;
    app.wait_final(&n.notification_id).await;
    let before = app.events_of(&n.notification_id).await;
    let (mid, metadata, at) = accepted(&app).remove(0);
    let now = app.clock.now_ms();
    let other = app.clock.now_ms() - 10;
    let body = body_of(
        now,
        vec![
            // A person at the page's inbox wrote to them: no metadata.
            echo("n00000", other, "m_human", None, "Hi from the shop"),
            // Another tool's metadata, and otn's prefix on a delivery that does not exist.
            echo("n00000", other, "m_tool", Some("crm:42"), "Hi"),
            echo("n00000", other, "m_ghost", Some("otn:987654321"), "Hi"),
            // otn's metadata with another person: not that delivery's echo.
            echo("someone-else", at, &mid, Some(&metadata), "Back!"),
            // No mid: unreadable.
            serde_json::json!({ "sender": { "id": PAGE }, "recipient": { "id": "n00000" },
                "timestamp": other, "message": { "is_echo": true, "metadata": metadata } }),
            // The real one, after all of them.
            echo("n00000", at, &mid, Some(&metadata), "Back!"),
            otn_optin("later", now, TOPIC, "otn-later"),
        ],
    );
    assert_eq!(post_signed(&app, body).await, StatusCode::OK);
    let after = app.events_of(&n.notification_id).await;
    assert_eq!(after, before, "the sent delivery, mid known, is unchanged");
    assert_eq!(
        app.eligible(TOPIC).await.total_size,
        1,
        "the opt-in applied"
    );
    let metrics = otn_testkit::meta::http()
        .get(format!("http://{}/metrics", app.running.admin_addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for reason in [
        "echo_not_from_otn",
        "echo_for_unknown_delivery",
        "echo_without_recipient_or_mid",
    ] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("otn_webhook_events_total")
                    && l.contains(&format!("reason=\"{reason}\""))),
            "{reason} counted"
        );
    }
}

#[tokio::test]
async fn cancelling_a_send_waiting_to_retry_an_unknown_outcome_leaves_it_unconfirmed() {
    let world = World::new().await;
    let mut app = world
        .spawn_with(|c| {
            c.dispatch.backoff_base_ms = 600_000;
            c.dispatch.backoff_max_ms = 600_000;
        })
        .await;
    app.opt_in_many(TOPIC, "c", 1).await;
    app.sim().inject(vec![Fault::AcceptThenServerError]);
    let n = app.send("cancel", TOPIC, pb::SendOptions::default()).await;
    let id = n.notification_id.clone();
    meta_accepted(&app, 1).await;
    // Its answer (a 500) recorded: waiting ten minutes to retry.
    app.wait_counts(&id, |c| c.queued == 1 && c.sending == 0)
        .await;
    let c = app
        .client
        .cancel_notification(pb::CancelNotificationRequest {
            notification_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        c.cancelled_deliveries, 0,
        "nothing cancelled that may have gone out"
    );
    let counts = c.notification.unwrap().counts.unwrap();
    assert_eq!((counts.unconfirmed, counts.cancelled), (1, 0), "{counts:?}");
    assert_eq!(
        app.eligible(TOPIC).await.total_size,
        0,
        "the grant stays spent"
    );
    let events = app.events_of(&id).await;
    assert_eq!(of_type(&events, T::Unconfirmed).len(), 1);
    assert_eq!(of_type(&events, T::GrantConsumed).len(), 1);
}
