//! Webhooks exactly as Meta sends them: sender-less events and drifting types in one batch, a
//! policy-enforcement block, a STOP that meets a held grant, consent asked outside the service,
//! and entries signed by another app.

use std::time::Duration;

use otn::v1::{self as pb, DeliveryEventType as T, ExclusionReason, GrantKind};
use otn_server::clock::Clock;
use otn_server::config::{PageConfig, Secret};
use otn_testkit::meta::*;
use otn_testkit::{PAGE, World, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

/// Places `psid` in France: Marketing Messages reach only AU, EU, JP, KR and UK since
/// 2026-02-10.
async fn in_france(app: &mut otn_testkit::TestApp, psid: &str) {
    app.client
        .update_recipient(pb::UpdateRecipientRequest {
            page_id: PAGE.into(),
            psid: psid.into(),
            region: Some("FR".into()),
            ..Default::default()
        })
        .await
        .expect("update recipient");
}

#[tokio::test]
async fn sender_less_events_and_drifting_types_never_cost_the_rest_of_their_batch() {
    let mut app = spawn_app().await;
    let topic = "back-in-stock:sku-1";
    let t = app.clock.now_ms() - 5_000;
    let mut bob = marketing_optin("bob", t + 1, topic, "nm-bob");
    // Seen in production as a string as well as a number.
    bob["optin"]["token_expiry_timestamp"] = json!((t + 1_000_000).to_string());
    let body = envelope(vec![
        entry(
            t + 10,
            vec![
                // The checkbox plugin's opt-in: no sender, a user_ref instead.
                json!({ "recipient": { "id": PAGE }, "timestamp": t,
                        "optin": { "ref": "cart-42", "user_ref": "ur-9f3a" } }),
                otn_optin("alice", t, topic, "otn-alice"),
                bob,
                otn_optin("carol", t + 2, topic, "otn-carol"),
            ],
        ),
        entry(
            t + 20,
            vec![
                // Fields otn does not use, with types nobody promised.
                event(
                    "carol",
                    t + 3,
                    "message",
                    json!({ "mid": "m_1", "attachments": [{ "type": "sticker",
                            "payload": { "url": "https://x/s.png", "sticker_id": 369_239_263_222_822_i64 } }],
                            "nlp": "unexpected", "quick_reply": 5 }),
                ),
                event("alice", t + 4, "read", json!({ "watermark": t, "seq": 12 })),
                // Unreadable: a sender id that is not a string.
                json!({ "sender": { "id": 12345 }, "recipient": { "id": PAGE },
                        "timestamp": t + 5, "message": { "mid": "m_2", "text": "hi" } }),
            ],
        ),
    ]);
    assert_eq!(post_signed(&app, body).await, StatusCode::OK);

    let l = app.eligible(topic).await;
    assert_eq!(psids(&l), ["alice", "bob", "carol"]);
    assert_eq!(
        of(&l, "bob").grants[0].kind,
        GrantKind::MarketingMessages as i32
    );
    let carol = of(&l, "carol").recipient.as_ref().expect("recipient");
    let last = carol.last_interaction_time.as_ref().expect("carol wrote");
    assert_eq!(ms(last), t + 3, "the sticker message opened her window");
}

#[tokio::test]
async fn a_policy_enforcement_block_pauses_the_page_until_meta_unblocks_it() {
    let mut app = spawn_app().await;
    app.opt_in_many("t", "p", 3).await;
    let notice = |action: &str, ts: i64| {
        json!({ "recipient": { "id": PAGE }, "timestamp": ts,
                "policy_enforcement": { "action": action,
                    "reason": "The bot violated our Platform Policies." } })
    };
    let t = app.clock.now_ms();
    let blocked = body_of(t, vec![notice("block", t)]);
    assert_eq!(post_signed(&app, blocked).await, StatusCode::OK);
    let n = app.send("blocked", "t", pb::SendOptions::default()).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        app.sim().stats().accepted_total,
        0,
        "nothing sent while blocked"
    );
    let c = app.notification(&n.notification_id).await.counts.unwrap();
    assert_eq!(
        (c.failed, c.sent),
        (0, 0),
        "the fan-out waits, it does not fail"
    );

    let unblocked = body_of(t + 1, vec![notice("unblock", t + 1)]);
    assert_eq!(post_signed(&app, unblocked).await, StatusCode::OK);
    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(done.counts.unwrap().sent, 3);
}

#[tokio::test]
async fn a_stop_while_a_queued_send_holds_the_grant_fails_that_send_and_stops_the_grant() {
    let mut app = spawn_app().await;
    let topic = "deals:weekly";
    let t = app.clock.now_ms() - 60_000;
    let optin = body_of(t, vec![marketing_optin("m1", t, topic, "nm-m1")]);
    assert_eq!(post_signed(&app, optin).await, StatusCode::OK);
    in_france(&mut app, "m1").await;
    let later = app.clock.now_ms() + 3_600_000;
    let options = pb::SendOptions {
        scheduled_time: Some(prost_types::Timestamp {
            seconds: later / 1000,
            nanos: 0,
        }),
        ..Default::default()
    };
    let n = app.send("held", topic, options).await;
    // Meta stamped the STOP before otn reserved the grant for the send.
    let stop = body_of(t + 1, vec![marketing_status("m1", t + 1, "nm-m1", true)]);
    assert_eq!(post_signed(&app, stop).await, StatusCode::OK);

    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(done.state, pb::NotificationState::Completed as i32);
    assert_eq!(done.counts.as_ref().unwrap().failed, 1, "{done:?}");
    let events = app.events_of(&n.notification_id).await;
    let failed = events.iter().find(|e| e.r#type == T::Failed as i32);
    let failure = failed.and_then(|e| e.failure.as_ref()).expect("a failure");
    assert_eq!(failure.reason, "STOPPED");
    assert_eq!(app.sim().stats().accepted_total, 0, "never sent");
    let l = app.eligible(topic).await;
    assert_eq!(l.total_size, 0);
    assert_eq!(excluded(&l, ExclusionReason::Stopped), 1);

    // A RESUME Meta stamped later lets it be used again.
    let resume = body_of(t + 2, vec![marketing_status("m1", t + 2, "nm-m1", false)]);
    assert_eq!(post_signed(&app, resume).await, StatusCode::OK);
    assert_eq!(app.eligible(topic).await.total_size, 1);
}

#[tokio::test]
async fn a_stop_during_the_send_stops_the_grant_once_the_send_is_over() {
    let mut app = spawn_app().await;
    let topic = "deals:weekly";
    let t = app.clock.now_ms() - 60_000;
    let token = app.sim().issue_marketing_token(PAGE, "m2");
    let optin = body_of(t, vec![marketing_optin("m2", t, topic, &token)]);
    assert_eq!(post_signed(&app, optin).await, StatusCode::OK);
    in_france(&mut app, "m2").await;
    app.sim().set_latency(Duration::from_millis(600));
    let n = app
        .send("in-flight", topic, pb::SendOptions::default())
        .await;
    // The simulator has taken the message and is still answering.
    let sim = app.sim().clone();
    otn_testkit::eventually("the send reached Meta", Duration::from_secs(10), || {
        let sim = sim.clone();
        async move {
            match sim.stats().accepted_total {
                1 => Ok(()),
                n => Err(format!("{n} accepted")),
            }
        }
    })
    .await;
    let stop = body_of(t + 1, vec![marketing_status("m2", t + 1, &token, true)]);
    assert_eq!(post_signed(&app, stop).await, StatusCode::OK);
    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(
        done.counts.unwrap().sent,
        1,
        "the message in flight went out"
    );
    let l = app.eligible(topic).await;
    assert_eq!(l.total_size, 0, "the reusable token is not used again");
    assert_eq!(excluded(&l, ExclusionReason::Stopped), 1);
}

#[tokio::test]
async fn consent_asked_outside_the_service_is_kept_unassigned_until_the_caller_assigns_it() {
    let mut app = spawn_app().await;
    let t = app.clock.now_ms() - 1_000;
    let flow = r#"{"flow":"abandoned-cart","sku":123}"#;
    let body = body_of(t, vec![otn_optin("dana", t, flow, "otn-dana")]);
    assert_eq!(post_signed(&app, body).await, StatusCode::OK);

    let unassigned = app.eligible("otn:unassigned").await;
    assert_eq!(psids(&unassigned), ["dana"]);
    let grant = &of(&unassigned, "dana").grants[0];
    assert_eq!(
        grant.payload, flow,
        "the shop's payload is kept for the caller"
    );
    let assigned = app
        .client
        .assign_grant(pb::AssignGrantRequest {
            grant_id: grant.grant_id.clone(),
            topic_key: "back-in-stock:sku-123".into(),
            topic_title: "SL13 back in stock".into(),
        })
        .await
        .expect("assign")
        .into_inner()
        .grant
        .expect("grant");
    assert_eq!(assigned.topic_key, "back-in-stock:sku-123");
    assert_eq!(
        psids(&app.eligible("back-in-stock:sku-123").await),
        ["dana"]
    );
    assert_eq!(app.eligible("otn:unassigned").await.total_size, 0);
    let again = app
        .client
        .assign_grant(pb::AssignGrantRequest {
            grant_id: grant.grant_id.clone(),
            topic_key: "other:topic".into(),
            topic_title: String::new(),
        })
        .await
        .expect_err("only an unassigned grant can be assigned");
    assert_eq!(again.code(), tonic::Code::InvalidArgument);
    assert_eq!(otn_testkit::violated_fields(&again), ["grant_id"]);
}

#[tokio::test]
async fn an_entry_signed_with_another_apps_secret_is_skipped_and_its_batch_applied() {
    let world = World::new().await;
    let other = PageConfig {
        page_id: "page-of-app-2".into(),
        access_token: Secret::new("token-2"),
        app_secret: Secret::new("secret-of-app-2"),
        verify_token: Secret::new("v2"),
        region: None,
        rate_limit_per_sec: 100,
        enabled: true,
        politeness: otn_server::config::Politeness::off(),
    };
    let mut app = world.spawn_with(|c| c.pages.push(other.clone())).await;
    let t = app.clock.now_ms() - 1_000;
    let mut theirs = otn_optin("erin", t, "t", "otn-erin-2");
    theirs["recipient"]["id"] = json!("page-of-app-2");
    let body = envelope(vec![
        // Names page 1 but is signed by app 2: forged, skipped.
        entry(t, vec![otn_optin("mallory", t, "t", "otn-forged")]),
        json!({ "id": "page-of-app-2", "time": t, "messaging": [theirs] }),
    ]);
    let sig = sign("secret-of-app-2", &body);
    assert_eq!(post_raw(&app, body, Some(&sig)).await, StatusCode::OK);
    assert_eq!(app.eligible("t").await.total_size, 0, "nothing on page 1");
    let theirs = app
        .client
        .list_eligible(pb::ListEligibleRequest {
            page_id: "page-of-app-2".into(),
            topic_key: "t".into(),
            include_total_size: true,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(psids(&theirs), ["erin"], "app 2's own page is applied");
}
