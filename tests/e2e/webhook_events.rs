//! End-to-end tests of webhook ingestion: batches, duplicates, STOP/RESUME, out-of-order and
//! hostile deliveries, and the opt-in loop with the simulator.

use otn::v1::{self as pb, ExclusionReason, GrantKind, GrantState};
use otn_server::clock::Clock;
use otn_testkit::meta::*;
use otn_testkit::{PAGE, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// 4. Batches.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_batch_of_entries_records_every_opt_in_and_only_user_actions_open_the_window() {
    let mut app = spawn_app().await;
    let topic = "back-in-stock:sku-1";
    let t = app.clock.now_ms() - 5_000;
    let body = envelope(vec![
        entry(
            t + 10,
            vec![
                otn_optin("alice", t, topic, "otn-alice"),
                // Alice writes to the page: her window opens at t + 1.
                event(
                    "alice",
                    t + 1,
                    "message",
                    json!({ "mid": "m_1", "text": "hi" }),
                ),
                // The page's own message echoed back: not an action of anyone.
                json!({
                    "sender": { "id": PAGE }, "recipient": { "id": "bob" }, "timestamp": t + 2,
                    "message": { "is_echo": true, "mid": "m_2", "text": "hello bob",
                                 "metadata": "corr-1" },
                }),
            ],
        ),
        entry(
            t + 20,
            vec![
                otn_optin("bob", t + 3, topic, "otn-bob"),
                // Carol taps Get Started: her window opens too.
                event(
                    "carol",
                    t + 4,
                    "postback",
                    json!({ "mid": "m_3", "title": "Get Started", "payload": "GET_STARTED" }),
                ),
                // Receipts for bob (a delivery carries no timestamp): no window for him.
                json!({
                    "sender": { "id": "bob" }, "recipient": { "id": PAGE },
                    "delivery": { "mids": ["m_2"], "watermark": t + 2 },
                }),
                event("bob", t + 5, "read", json!({ "watermark": t + 2 })),
            ],
        ),
    ]);
    assert_eq!(post_signed(&app, body).await, StatusCode::OK);

    let l = app.eligible(topic).await;
    assert_eq!(l.total_size, 2);
    assert_eq!(psids(&l), ["alice", "bob"]);
    for (psid, at) in [("alice", t), ("bob", t + 3)] {
        let grants = &of(&l, psid).grants;
        assert_eq!(grants.len(), 1, "{psid}");
        assert_eq!(grants[0].kind, GrantKind::OneTimeNotification as i32);
        assert_eq!(grants[0].state, GrantState::Active as i32);
        assert_eq!(ms(grants[0].opt_in_time.as_ref().expect("opt_in_time")), at);
    }
    // The message opened alice's window, at the message's time.
    let alice = of(&l, "alice").recipient.as_ref().expect("recipient");
    let last = alice
        .last_interaction_time
        .as_ref()
        .expect("alice interacted");
    assert_eq!(ms(last), t + 1);
    // Bob only opted in and got receipts: neither opens the window.
    let bob = of(&l, "bob").recipient.as_ref().expect("recipient");
    assert_eq!(bob.last_interaction_time, None);

    // Carol's postback opened her window: the service lets a consent request go to her, not to
    // bob. The simulator stands for Meta, which saw neither webhook: open both windows there so
    // that only the service's own window rule can refuse.
    app.sim().open_window(PAGE, "carol");
    app.sim().open_window(PAGE, "bob");
    app.client
        .request_opt_in(opt_in_request("req-carol", "carol", topic))
        .await
        .expect("carol's window is open");
    let err = app
        .client
        .request_opt_in(opt_in_request("req-bob", "bob", topic))
        .await
        .expect_err("bob's window is closed");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert_eq!(otn_testkit::reason(&err), "OUTSIDE_WINDOW");
    assert_eq!(app.sim().opt_in_requests_sent(PAGE, "carol").len(), 1);
    assert!(app.sim().opt_in_requests_sent(PAGE, "bob").is_empty());

    // The echo (sent by the page) made nobody interact.
    let page_as_person = app
        .client
        .forget_recipient(pb::ForgetRecipientRequest {
            page_id: PAGE.into(),
            psid: PAGE.into(),
        })
        .await
        .expect("forget")
        .into_inner();
    assert!(!page_as_person.found, "{page_as_person:?}");
}

// ---------------------------------------------------------------------------------------------
// 5. Duplicate deliveries.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_same_opt_in_delivered_twice_records_exactly_one_grant() {
    let mut app = spawn_app().await;
    let topic = "back-in-stock:sku-1";
    let ts = app.clock.now_ms();
    let body = body_of(ts, vec![otn_optin("u1", ts, topic, "otn-token-1")]);

    assert_eq!(post_signed(&app, body.clone()).await, StatusCode::OK);
    assert_eq!(post_signed(&app, body).await, StatusCode::OK);
    // Meta may also redeliver the event inside another batch.
    let again = body_of(
        ts + 50,
        vec![
            otn_optin("u1", ts, topic, "otn-token-1"),
            otn_optin("u1", ts, topic, "otn-token-1"),
        ],
    );
    assert_eq!(post_signed(&app, again).await, StatusCode::OK);

    let l = app.eligible(topic).await;
    assert_eq!(l.total_size, 1);
    assert_eq!(psids(&l), ["u1"]);
    assert_eq!(of(&l, "u1").grants.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 6. STOP and RESUME of marketing messages.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn stop_makes_a_marketing_grant_ineligible_and_resume_makes_it_eligible_again() {
    let mut app = spawn_app().await;
    let topic = "deals:weekly";
    let t = app.clock.now_ms();
    let token = "nm-token-1";

    let body = body_of(t, vec![marketing_optin("u1", t, topic, token)]);
    assert_eq!(post_signed(&app, body).await, StatusCode::OK);
    let l = app.eligible(topic).await;
    assert_eq!(l.total_size, 1);
    let g = &of(&l, "u1").grants;
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].kind, GrantKind::MarketingMessages as i32);
    assert_eq!(g[0].state, GrantState::Active as i32);

    let stop = body_of(
        t + 1_000,
        vec![marketing_status("u1", t + 1_000, token, true)],
    );
    assert_eq!(post_signed(&app, stop).await, StatusCode::OK);
    let l = app.eligible(topic).await;
    assert_eq!(l.total_size, 0);
    assert!(l.recipients.is_empty());
    assert_eq!(excluded(&l, ExclusionReason::Stopped), 1);

    let resume = body_of(
        t + 2_000,
        vec![marketing_status("u1", t + 2_000, token, false)],
    );
    assert_eq!(post_signed(&app, resume).await, StatusCode::OK);
    let l = app.eligible(topic).await;
    assert_eq!(l.total_size, 1);
    assert_eq!(psids(&l), ["u1"]);
    assert_eq!(of(&l, "u1").grants.len(), 1);
    assert_eq!(excluded(&l, ExclusionReason::Stopped), 0);
}

#[tokio::test]
async fn a_resume_older_than_the_stop_arriving_after_it_changes_nothing() {
    let mut app = spawn_app().await;
    let topic = "deals:weekly";
    let t = app.clock.now_ms();
    let token = "nm-token-1";

    let body = body_of(t, vec![marketing_optin("u1", t, topic, token)]);
    assert_eq!(post_signed(&app, body).await, StatusCode::OK);
    // The person resumed at t+1s and stopped at t+2s; Meta delivers the STOP first.
    let stop = body_of(
        t + 2_000,
        vec![marketing_status("u1", t + 2_000, token, true)],
    );
    assert_eq!(post_signed(&app, stop).await, StatusCode::OK);
    let late_resume = body_of(
        t + 1_000,
        vec![marketing_status("u1", t + 1_000, token, false)],
    );
    assert_eq!(post_signed(&app, late_resume).await, StatusCode::OK);

    let l = app.eligible(topic).await;
    assert_eq!(l.total_size, 0);
    assert!(l.recipients.is_empty());
    assert_eq!(excluded(&l, ExclusionReason::Stopped), 1);

    // A RESUME newer than the STOP still applies.
    let resume = body_of(
        t + 3_000,
        vec![marketing_status("u1", t + 3_000, token, false)],
    );
    assert_eq!(post_signed(&app, resume).await, StatusCode::OK);
    assert_eq!(app.eligible(topic).await.total_size, 1);
}

// ---------------------------------------------------------------------------------------------
// 7. End to end with the simulator.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_notify_me_tap_on_the_services_request_grants_its_topic_with_the_callers_payload() {
    let mut app = spawn_app().await;
    let psid = "shopper-9";
    let topic = "price-drop:sku-9";
    app.interact(psid).await;

    let sent = app
        .client
        .request_opt_in(pb::RequestOptInRequest {
            request_id: "ask-price-drop-9".into(),
            page_id: PAGE.into(),
            psid: psid.into(),
            topic_key: topic.into(),
            title: "Price drop on the SL13".into(),
            payload: "campaign=spring;sku=9".into(),
            ..Default::default()
        })
        .await
        .expect("request opt-in")
        .into_inner()
        .opt_in_request
        .expect("opt-in request");

    // What Meta received: the template with the service's own payload, naming the request.
    let at_meta = app.sim().opt_in_requests_sent(PAGE, psid);
    assert_eq!(at_meta.len(), 1);
    assert_eq!(at_meta[0].title, "Price drop on the SL13");
    assert_eq!(at_meta[0].mid, sent.message_id);
    let payload = at_meta[0].payload.clone();
    assert_eq!(payload, format!("otn1:{}", sent.opt_in_request_id));
    assert_eq!(app.eligible(topic).await.total_size, 0);

    app.sim()
        .user_taps_notify_me(PAGE, psid, &payload)
        .await
        .expect("the service answered the opt-in webhook with 200");

    let l = app.eligible(topic).await;
    assert_eq!(l.total_size, 1);
    assert_eq!(psids(&l), [psid]);
    let grants = &of(&l, psid).grants;
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].topic_key, topic);
    assert_eq!(grants[0].kind, GrantKind::OneTimeNotification as i32);
    assert_eq!(grants[0].state, GrantState::Active as i32);
    assert_eq!(grants[0].payload, "campaign=spring;sku=9");
    // Nothing was recorded under a topic named after the raw payload.
    assert_eq!(app.eligible(&payload).await.total_size, 0);
}

// ---------------------------------------------------------------------------------------------
// 8. The body limit.
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Out-of-order and hostile deliveries.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_stop_delivered_before_its_opt_in_still_stops_the_grant() {
    let mut app = spawn_app().await;
    let topic = "deals:weekly";
    let t = app.clock.now_ms();
    let token = "nm-token-1";
    // The person opted in at t and stopped at t+1s; Meta delivers the STOP first.
    let stop = body_of(
        t + 1_000,
        vec![marketing_status("u1", t + 1_000, token, true)],
    );
    assert_eq!(post_signed(&app, stop).await, StatusCode::OK);
    let opt_in = body_of(t, vec![marketing_optin("u1", t, topic, token)]);
    assert_eq!(post_signed(&app, opt_in).await, StatusCode::OK);

    let l = app.eligible(topic).await;
    assert_eq!(l.total_size, 0, "{l:?}");
    assert_eq!(excluded(&l, ExclusionReason::Stopped), 1);
}

#[tokio::test]
async fn an_opt_in_that_cannot_be_recorded_does_not_block_the_rest_of_its_batch() {
    let mut app = spawn_app().await;
    let topic = "back-in-stock:sku-1";
    let t = app.clock.now_ms();
    let first = body_of(t, vec![otn_optin("u1", t, topic, "otn-token-1")]);
    assert_eq!(post_signed(&app, first).await, StatusCode::OK);
    // An event naming u1's token for someone else, batched with a good opt-in of u3.
    let batch = body_of(
        t + 10,
        vec![
            otn_optin("u2", t + 5, topic, "otn-token-1"),
            otn_optin("u3", t + 6, topic, "otn-token-3"),
        ],
    );
    // Meta retries every non-200 answer, so a permanent refusal must not be one.
    assert_eq!(post_signed(&app, batch).await, StatusCode::OK);
    let l = app.eligible(topic).await;
    assert_eq!(psids(&l), ["u1", "u3"]);
    assert_eq!(of(&l, "u1").grants.len(), 1);
}

#[tokio::test]
async fn a_message_stamped_slightly_ahead_of_the_server_clock_opens_the_window_now() {
    let mut app = spawn_app().await;
    // Meta's clock runs two seconds ahead of ours.
    let t = app.clock.now_ms() + 2_000;
    let message = event("u1", t, "message", json!({ "mid": "m_1", "text": "hi" }));
    assert_eq!(
        post_signed(&app, body_of(t, vec![message])).await,
        StatusCode::OK
    );
    app.sim().open_window(PAGE, "u1");
    app.client
        .request_opt_in(opt_in_request("req-u1", "u1", "back-in-stock:sku-1"))
        .await
        .expect("the person just wrote: their window is open");
}
