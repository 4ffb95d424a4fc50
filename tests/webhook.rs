//! End-to-end tests of the Messenger webhook: the subscription handshake, signature checks over
//! the raw body, opt-ins becoming grants, batching, duplicates, STOP/RESUME and the body limit.

mod common;

use common::{PAGE, TestApp, spawn_app, spawn_with};
use otn::v1::{self as pb, ExclusionReason, GrantKind, GrantState};
use otn_server::clock::Clock;
use otn_server::messenger::signature::sign;
use reqwest::StatusCode;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers: bodies exactly as Meta sends them, and the calls a caller would make.
// ---------------------------------------------------------------------------------------------

/// A plain HTTP client that never goes through a proxy.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// One `entry[]` item of the sandbox page.
fn entry(time_ms: i64, events: Vec<Value>) -> Value {
    json!({ "id": PAGE, "time": time_ms, "messaging": events })
}

/// The raw bytes of a `{"object":"page","entry":[..]}` envelope.
fn envelope(entries: Vec<Value>) -> Vec<u8> {
    json!({ "object": "page", "entry": entries })
        .to_string()
        .into_bytes()
}

/// The raw bytes of an envelope with one entry holding `events`.
fn body_of(ts: i64, events: Vec<Value>) -> Vec<u8> {
    envelope(vec![entry(ts, events)])
}

/// An event sent by `psid` to the page, with `key` (optin, message, postback…) set to `v`.
fn event(psid: &str, ts: i64, key: &str, v: Value) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("sender".into(), json!({ "id": psid }));
    m.insert("recipient".into(), json!({ "id": PAGE }));
    m.insert("timestamp".into(), ts.into());
    m.insert(key.into(), v);
    Value::Object(m)
}

/// A `messaging_optins` event of a One-Time Notification ("Notify Me" tapped).
fn otn_optin(psid: &str, ts: i64, payload: &str, token: &str) -> Value {
    event(
        psid,
        ts,
        "optin",
        json!({ "type": "one_time_notif_req", "payload": payload, "one_time_notif_token": token }),
    )
}

/// A `messaging_optins` event of a marketing-messages opt-in.
fn marketing_optin(psid: &str, ts: i64, topic: &str, token: &str) -> Value {
    event(
        psid,
        ts,
        "optin",
        json!({
            "type": "notification_messages",
            "title": "Weekly deals",
            "payload": topic,
            "notification_messages_token": token,
            "token_expiry_timestamp": ts + 365 * 24 * 3_600_000_i64,
            "user_token_status": "NOT_REFRESHED",
            "notification_messages_timezone": "UTC",
        }),
    )
}

/// A marketing STOP (`stop`) or RESUME status event for `token`.
fn marketing_status(psid: &str, ts: i64, token: &str, stop: bool) -> Value {
    let status = if stop {
        "STOP NOTIFICATIONS"
    } else {
        "RESUME NOTIFICATIONS"
    };
    event(
        psid,
        ts,
        "optin",
        json!({
            "type": "notification_messages",
            "notification_messages_token": token,
            "notification_messages_status": status,
            "token_expiry_timestamp": ts + 365 * 24 * 3_600_000_i64,
            "user_token_status": "NOT_REFRESHED",
            "notification_messages_timezone": "UTC",
        }),
    )
}

/// POSTs `body` to the webhook with `signature` as X-Hub-Signature-256 (none when `None`).
async fn post_raw(app: &TestApp, body: Vec<u8>, signature: Option<&str>) -> StatusCode {
    let mut req = http()
        .post(app.webhook_url())
        .header("content-type", "application/json")
        .body(body);
    if let Some(sig) = signature {
        req = req.header("x-hub-signature-256", sig);
    }
    req.send().await.expect("webhook reachable").status()
}

/// POSTs `body` signed with the page's app secret, as Meta would.
async fn post_signed(app: &TestApp, body: Vec<u8>) -> StatusCode {
    let sig = sign(&app.app_secret(), &body);
    post_raw(app, body, Some(&sig)).await
}

/// ListEligible on the sandbox page for `topic`, with exclusions explained.
async fn eligible(app: &mut TestApp, topic: &str) -> pb::ListEligibleResponse {
    app.client
        .list_eligible(pb::ListEligibleRequest {
            page_id: PAGE.into(),
            topic_key: topic.into(),
            explain_exclusions: true,
            ..Default::default()
        })
        .await
        .expect("list eligible")
        .into_inner()
}

/// The eligible psids of a ListEligible answer, in order.
fn psids(l: &pb::ListEligibleResponse) -> Vec<String> {
    l.recipients
        .iter()
        .map(|e| e.recipient.as_ref().expect("recipient").psid.clone())
        .collect()
}

/// The eligible entry of `psid`.
fn of<'a>(l: &'a pb::ListEligibleResponse, psid: &str) -> &'a pb::EligibleRecipient {
    l.recipients
        .iter()
        .find(|e| e.recipient.as_ref().is_some_and(|r| r.psid == psid))
        .unwrap_or_else(|| panic!("{psid} is not eligible: {l:?}"))
}

/// How many recipients were excluded for `reason`.
fn excluded(l: &pb::ListEligibleResponse, reason: ExclusionReason) -> i64 {
    l.exclusions
        .iter()
        .filter(|c| c.reason == reason as i32)
        .map(|c| c.count)
        .sum()
}

/// Epoch milliseconds of a protobuf timestamp.
fn ms(t: &otn::prost_types::Timestamp) -> i64 {
    t.seconds * 1000 + i64::from(t.nanos) / 1_000_000
}

fn opt_in_request(request_id: &str, psid: &str, topic: &str) -> pb::RequestOptInRequest {
    pb::RequestOptInRequest {
        request_id: request_id.into(),
        page_id: PAGE.into(),
        psid: psid.into(),
        topic_key: topic.into(),
        title: "Tell me when it is back".into(),
        payload: format!("caller-ref:{psid}"),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. The subscription handshake.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_handshake_echoes_the_challenge_only_for_subscribe_with_the_configured_verify_token() {
    let app = spawn_app().await;
    let token = app
        .running
        .ledger
        .pages
        .get(PAGE)
        .expect("sandbox page")
        .verify_token
        .expose()
        .to_string();
    // The token is hex and the other values are plain words: nothing to percent-encode.
    let handshake = |mode: &str, token: &str| {
        http().get(format!(
            "{}?hub.mode={mode}&hub.verify_token={token}&hub.challenge=12345",
            app.webhook_url()
        ))
    };

    let ok = handshake("subscribe", &token).send().await.expect("GET");
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.expect("body"), "12345");

    let wrong_token = format!("{token}x");
    let resp = handshake("subscribe", &wrong_token)
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_ne!(resp.text().await.expect("body"), "12345");

    let resp = handshake("unsubscribe", &token).send().await.expect("GET");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_ne!(resp.text().await.expect("body"), "12345");

    // No token at all is refused too.
    let resp = http()
        .get(format!(
            "{}?hub.mode=subscribe&hub.challenge=12345",
            app.webhook_url()
        ))
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

// ---------------------------------------------------------------------------------------------
// 2. A signed opt-in becomes a grant.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_validly_signed_one_time_notif_opt_in_is_recorded_as_an_active_grant() {
    let mut app = spawn_app().await;
    let topic = "back-in-stock:sku-1";
    assert_eq!(eligible(&mut app, topic).await.total_size, 0);

    let ts = app.clock.now_ms();
    let body = body_of(ts, vec![otn_optin("u1", ts, topic, "otn-token-1")]);
    assert_eq!(post_signed(&app, body).await, StatusCode::OK);

    let l = eligible(&mut app, topic).await;
    assert_eq!(l.total_size, 1);
    assert_eq!(psids(&l), ["u1"]);
    let grants = &of(&l, "u1").grants;
    assert_eq!(grants.len(), 1);
    let g = &grants[0];
    assert_eq!(g.page_id, PAGE);
    assert_eq!(g.psid, "u1");
    assert_eq!(g.topic_key, topic);
    assert_eq!(g.kind, GrantKind::OneTimeNotification as i32);
    assert_eq!(g.state, GrantState::Active as i32);
    assert_eq!(ms(g.opt_in_time.as_ref().expect("opt_in_time")), ts);
    // Opted in outside this service: no caller payload to keep.
    assert_eq!(g.payload, "");
}

// ---------------------------------------------------------------------------------------------
// 3. Refusals by signature: nothing is recorded.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_webhook_signed_with_another_secret_is_refused_and_records_nothing() {
    let mut app = spawn_app().await;
    let topic = "back-in-stock:sku-1";
    let ts = app.clock.now_ms();
    let body = body_of(ts, vec![otn_optin("u1", ts, topic, "otn-token-1")]);

    let forged = sign(&format!("{}-not", app.app_secret()), &body);
    assert_eq!(
        post_raw(&app, body.clone(), Some(&forged)).await,
        StatusCode::FORBIDDEN
    );
    // A header that is not an HMAC at all.
    assert_eq!(
        post_raw(&app, body.clone(), Some("sha256=zz")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(eligible(&mut app, topic).await.total_size, 0);

    // The very same bytes, rightly signed, go through: the refusal was the signature's.
    assert_eq!(post_signed(&app, body).await, StatusCode::OK);
    assert_eq!(eligible(&mut app, topic).await.total_size, 1);
}

#[tokio::test]
async fn a_webhook_without_a_signature_header_is_refused_and_records_nothing() {
    let mut app = spawn_app().await;
    let topic = "back-in-stock:sku-1";
    let ts = app.clock.now_ms();
    let body = body_of(ts, vec![otn_optin("u1", ts, topic, "otn-token-1")]);

    assert_eq!(
        post_raw(&app, body.clone(), None).await,
        StatusCode::FORBIDDEN
    );
    // An empty header or one without the sha256= prefix is no better.
    assert_eq!(
        post_raw(&app, body.clone(), Some("")).await,
        StatusCode::FORBIDDEN
    );
    let bare_hex = sign(&app.app_secret(), &body).replacen("sha256=", "", 1);
    assert_eq!(
        post_raw(&app, body.clone(), Some(&bare_hex)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(eligible(&mut app, topic).await.total_size, 0);

    assert_eq!(post_signed(&app, body).await, StatusCode::OK);
    assert_eq!(eligible(&mut app, topic).await.total_size, 1);
}

#[tokio::test]
async fn the_signature_is_checked_over_the_raw_bytes_not_over_re_serialised_json() {
    let mut app = spawn_app().await;
    let topic = "back-in-stock:sku-1";
    let ts = app.clock.now_ms();
    let original = body_of(ts, vec![otn_optin("u1", ts, topic, "otn-token-1")]);
    let parsed: Value = serde_json::from_slice(&original).expect("json");
    let pretty = serde_json::to_vec_pretty(&parsed).expect("json");
    assert_ne!(original, pretty);
    assert_eq!(
        serde_json::from_slice::<Value>(&pretty).expect("json"),
        parsed
    );
    let secret = app.app_secret();

    // Signed over the re-serialised JSON, the original bytes sent.
    let sig = sign(&secret, &pretty);
    assert_eq!(
        post_raw(&app, original.clone(), Some(&sig)).await,
        StatusCode::FORBIDDEN
    );
    // Signed over the original bytes, the re-serialised JSON sent.
    let sig = sign(&secret, &original);
    assert_eq!(
        post_raw(&app, pretty.clone(), Some(&sig)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(eligible(&mut app, topic).await.total_size, 0);

    // Each form is accepted under its own signature (and the second is a replay).
    assert_eq!(post_signed(&app, pretty).await, StatusCode::OK);
    assert_eq!(post_signed(&app, original).await, StatusCode::OK);
    assert_eq!(eligible(&mut app, topic).await.total_size, 1);
}

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

    let l = eligible(&mut app, topic).await;
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
    assert_eq!(common::reason(&err), "OUTSIDE_WINDOW");
    assert_eq!(app.sim().opt_in_requests_sent(PAGE, "carol").len(), 1);
    assert!(app.sim().opt_in_requests_sent(PAGE, "bob").is_empty());

    // The echo (sent by the page) made nobody interact.
    let page_as_person = app
        .running
        .ledger
        .store
        .recipient(PAGE, PAGE)
        .await
        .expect("store");
    assert!(page_as_person.is_none(), "{page_as_person:?}");
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

    let l = eligible(&mut app, topic).await;
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
    let l = eligible(&mut app, topic).await;
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
    let l = eligible(&mut app, topic).await;
    assert_eq!(l.total_size, 0);
    assert!(l.recipients.is_empty());
    assert_eq!(excluded(&l, ExclusionReason::Stopped), 1);

    let resume = body_of(
        t + 2_000,
        vec![marketing_status("u1", t + 2_000, token, false)],
    );
    assert_eq!(post_signed(&app, resume).await, StatusCode::OK);
    let l = eligible(&mut app, topic).await;
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

    let l = eligible(&mut app, topic).await;
    assert_eq!(l.total_size, 0);
    assert!(l.recipients.is_empty());
    assert_eq!(excluded(&l, ExclusionReason::Stopped), 1);

    // A RESUME newer than the STOP still applies.
    let resume = body_of(
        t + 3_000,
        vec![marketing_status("u1", t + 3_000, token, false)],
    );
    assert_eq!(post_signed(&app, resume).await, StatusCode::OK);
    assert_eq!(eligible(&mut app, topic).await.total_size, 1);
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
    assert_eq!(eligible(&mut app, topic).await.total_size, 0);

    app.sim()
        .user_taps_notify_me(PAGE, psid, &payload)
        .await
        .expect("the service answered the opt-in webhook with 200");

    let l = eligible(&mut app, topic).await;
    assert_eq!(l.total_size, 1);
    assert_eq!(psids(&l), [psid]);
    let grants = &of(&l, psid).grants;
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].topic_key, topic);
    assert_eq!(grants[0].kind, GrantKind::OneTimeNotification as i32);
    assert_eq!(grants[0].state, GrantState::Active as i32);
    assert_eq!(grants[0].payload, "campaign=spring;sku=9");
    // Nothing was recorded under a topic named after the raw payload.
    assert_eq!(eligible(&mut app, &payload).await.total_size, 0);
}

// ---------------------------------------------------------------------------------------------
// 8. The body limit.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_body_over_the_webhook_body_limit_is_refused_with_413_and_records_nothing() {
    let mut app = spawn_with(|c| c.webhook_body_limit = 1024).await;
    let topic = "back-in-stock:sku-1";
    let ts = app.clock.now_ms();
    let mut big = otn_optin("u1", ts, topic, "otn-token-1");
    // Fields the service does not use still count towards the size.
    big["optin"]["padding"] = Value::String("x".repeat(2048));
    let body = body_of(ts, vec![big]);
    assert!(body.len() > 1024);
    assert_eq!(post_signed(&app, body).await, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(eligible(&mut app, topic).await.total_size, 0);

    // The same event without the padding fits and is recorded.
    let small = body_of(ts, vec![otn_optin("u1", ts, topic, "otn-token-1")]);
    assert!(small.len() <= 1024);
    assert_eq!(post_signed(&app, small).await, StatusCode::OK);
    assert_eq!(eligible(&mut app, topic).await.total_size, 1);
}

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

    let l = eligible(&mut app, topic).await;
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
    let l = eligible(&mut app, topic).await;
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
