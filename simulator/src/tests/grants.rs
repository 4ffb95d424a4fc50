//! Tests of grant sends: single-use OTN tokens, expiry, marketing cooldown and STOP/RESUME.

use chrono::{Duration, TimeZone};
use serde_json::json;

use super::{PAGE, SECRET, codes, harness, harness_at, hook, marketing_send, otn_send};
use crate::{GrantKind, TOKEN_USED_MESSAGE};

#[tokio::test]
async fn otn_token_is_accepted_once() {
    let h = harness().await;
    let token = h.sim.issue_otn_token(PAGE, "u1");
    let (s, b) = h.send(&otn_send(&token, "Back in stock")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["recipient_id"], "u1");
    let (s, b) = h.send(&otn_send(&token, "again")).await;
    assert_eq!((s, codes(&b)), (400, (100, None)));
    assert_eq!(b["error"]["message"], TOKEN_USED_MESSAGE);
    assert_eq!(
        b["error"]["message"],
        "(#100) The one_time_notif_token has already been used"
    );
    assert!(b["error"].get("error_subcode").is_none());
    assert_eq!(h.sim.accepted_for_token(&token), 1);
    let msgs = h.sim.accepted_messages();
    assert_eq!(msgs[0].token.as_deref(), Some(token.as_str()));
    assert_eq!(msgs[0].token_kind, Some(GrantKind::OneTimeNotification));
    assert_eq!(h.sim.stats().per_token.get(&token), Some(&1));
}

#[tokio::test]
async fn otn_button_template_is_allowed_but_opt_in_template_is_not() {
    let h = harness().await;
    let token = h.sim.issue_otn_token(PAGE, "u1");
    let optin = json!({ "recipient": { "one_time_notif_token": token }, "message": { "attachment": { "type": "template",
        "payload": { "template_type": "one_time_notif_req", "title": "t", "payload": "p" } } } });
    let (s, b) = h.send(&optin).await;
    assert_eq!((s, codes(&b).0), (400, 100));
    let tagged = json!({ "recipient": { "one_time_notif_token": token }, "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT", "message": { "text": "x" } });
    assert_eq!(h.send(&tagged).await.0, 400);
    let button = json!({ "recipient": { "one_time_notif_token": token }, "message": { "metadata": "corr-1",
        "attachment": { "type": "template", "payload": { "template_type": "button", "text": "It's back",
        "buttons": [{ "type": "web_url", "title": "Buy", "url": "https://shop.example/sl13" }] } } } });
    assert_eq!(h.send(&button).await.0, 200);
    assert_eq!(h.sim.accepted_for_token(&token), 1);
}

#[tokio::test]
async fn unknown_foreign_and_expired_tokens_are_100_naming_the_tokens_field() {
    let h = harness().await;
    let (s, b) = h.send(&otn_send("made-up", "x")).await;
    assert_eq!((s, codes(&b)), (400, (100, None)));
    assert_eq!(
        b["error"]["message"],
        "(#100) one_time_notif_token is invalid"
    );
    let (s, b) = h.send(&marketing_send("made-up", "x")).await;
    assert_eq!((s, codes(&b)), (400, (100, None)));
    assert_eq!(
        b["error"]["message"], "(#100) notification_messages_token is invalid",
        "as Meta's 2026 table words it"
    );
    let foreign = h.sim.issue_otn_token("2002", "u1");
    let (s, b) = h.send(&otn_send(&foreign, "x")).await;
    assert_eq!((s, codes(&b).0), (400, 100));
    let marketing = h.sim.issue_marketing_token(PAGE, "u1");
    let (s, b) = h.send(&otn_send(&marketing, "wrong field")).await;
    assert_eq!((s, codes(&b).0), (400, 100));

    let token = h.sim.issue_otn_token(PAGE, "u1");
    h.advance(Duration::days(365));
    let (s, b) = h.send(&otn_send(&token, "too late")).await;
    assert_eq!((s, codes(&b)), (400, (100, None)));
    assert_eq!(
        b["error"]["message"],
        "(#100) one_time_notif_token has expired"
    );
    assert_eq!(h.sim.accepted_count(), 0);
    assert_eq!(h.sim.accepted_for_token(&token), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_with_one_token_accept_exactly_one() {
    let h = harness().await;
    let token = h.sim.issue_otn_token(PAGE, "u1");
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (http, url, body) = (
            h.http.clone(),
            h.url(),
            otn_send(&token, &format!("copy {i}")),
        );
        tasks.push(tokio::spawn(async move {
            let resp = http
                .post(url)
                .bearer_auth(super::PAGE_TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(h.sim.accepted_for_token(&token), 1);
    assert_eq!(h.sim.accepted_count(), 1);
}

#[tokio::test]
async fn marketing_token_has_a_48h_cooldown() {
    let h = harness().await;
    let token = h.sim.issue_marketing_token(PAGE, "u1");
    assert_eq!(h.send(&marketing_send(&token, "deal 1")).await.0, 200);
    h.advance(Duration::hours(47));
    let (s, b) = h.send(&marketing_send(&token, "deal 2")).await;
    assert_eq!((s, codes(&b)), (400, (4, Some(2_018_354))));
    h.advance(Duration::hours(1));
    assert_eq!(h.send(&marketing_send(&token, "deal 2")).await.0, 200);
    assert_eq!(h.sim.accepted_for_token(&token), 2);
    // Marketing sends do not open the window either.
    assert!(!h.sim.window_open(PAGE, "u1"));
}

#[tokio::test]
async fn marketing_cooldown_was_24h_before_september_2025() {
    let at = chrono::Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
    let h = harness_at(at, |_| {}).await;
    let token = h.sim.issue_marketing_token(PAGE, "u1");
    assert_eq!(h.send(&marketing_send(&token, "a")).await.0, 200);
    h.advance(Duration::hours(24));
    assert_eq!(h.send(&marketing_send(&token, "b")).await.0, 200);
}

#[tokio::test]
async fn stopped_marketing_token_is_refused_until_resumed() {
    let mut hk = hook().await;
    let h = harness().await;
    h.sim.set_webhook(hk.url.clone(), SECRET.into());
    let token = h
        .sim
        .user_opts_in_marketing(PAGE, "u1", "Weekly deals", "deals")
        .await
        .unwrap();
    let ev = hk.next_event().await;
    assert_eq!(ev["optin"]["type"], "notification_messages");
    assert_eq!(ev["optin"]["notification_messages_token"], token.as_str());
    assert_eq!(ev["optin"]["title"], "Weekly deals");
    assert_eq!(ev["optin"]["payload"], "deals");
    assert!(
        !h.sim.window_open(PAGE, "u1"),
        "a marketing opt-in does not open the window"
    );

    h.sim.user_stops(PAGE, "u1", &token).await.unwrap();
    let ev = hk.next_event().await;
    assert_eq!(
        ev["optin"]["notification_messages_status"],
        "STOP NOTIFICATIONS"
    );
    let (s, b) = h.send(&marketing_send(&token, "deal")).await;
    assert_eq!((s, codes(&b)), (400, (10, Some(1_893_015))));

    h.sim.user_resumes(PAGE, "u1", &token).await.unwrap();
    let ev = hk.next_event().await;
    assert_eq!(
        ev["optin"]["notification_messages_status"],
        "RESUME NOTIFICATIONS"
    );
    assert_eq!(h.send(&marketing_send(&token, "deal")).await.0, 200);

    assert!(
        h.sim
            .user_stops(PAGE, "someone-else", &token)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn with_a_state_file_tokens_and_their_use_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sandbox.json");
    let with_file = |c: &mut crate::SimulatorConfig| c.state_file = Some(file.clone());
    let h = harness_at(super::june_2026(), with_file).await;
    let spent = h.sim.issue_otn_token(PAGE, "u1");
    let fresh = h.sim.issue_otn_token(PAGE, "u2");
    assert_eq!(h.send(&otn_send(&spent, "one")).await.0, 200);
    h.sim.shutdown();

    let h = harness_at(super::june_2026(), with_file).await;
    let (s, b) = h.send(&otn_send(&spent, "again")).await;
    assert_eq!((s, codes(&b)), (400, (100, None)), "still spent");
    assert_eq!(
        h.send(&otn_send(&fresh, "first")).await.0,
        200,
        "still valid"
    );
}
