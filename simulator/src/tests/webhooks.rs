//! Tests of the webhooks the simulator posts (shapes, signatures, receipts) and of the `/_sim/` control API.

use serde_json::{Value, json};

use super::{
    PAGE, PAGE_TOKEN, SECRET, codes, harness, harness_at, hook, june_2026, otn_send, text_to,
};
use crate::signature_header;

#[tokio::test]
async fn user_message_opens_the_window_and_posts_a_signed_webhook() {
    let mut hk = hook().await;
    let h = harness().await;
    h.sim.set_webhook(hk.url.clone(), SECRET.into());
    let mid = h
        .sim
        .user_sends_message(PAGE, "u1", "hi there")
        .await
        .unwrap();
    let ev = hk.next_event().await;
    assert_eq!(ev["sender"]["id"], "u1");
    assert_eq!(ev["recipient"]["id"], PAGE);
    assert_eq!(ev["timestamp"], h.sim.now_ms());
    assert_eq!(ev["message"]["text"], "hi there");
    assert_eq!(ev["message"]["mid"], mid.as_str());
    assert!(h.sim.window_open(PAGE, "u1"));
    assert_eq!(h.send(&text_to("u1", "hello back")).await.0, 200);

    h.sim
        .user_postback(PAGE, "u2", "Get Started", "GET_STARTED")
        .await
        .unwrap();
    let ev = hk.next_event().await;
    assert_eq!(ev["postback"]["payload"], "GET_STARTED");
    assert!(h.sim.window_open(PAGE, "u2"));

    h.sim.user_reads(PAGE, "u3").await.unwrap();
    let ev = hk.next_event().await;
    assert_eq!(ev["read"]["watermark"], h.sim.now_ms());
    assert!(
        !h.sim.window_open(PAGE, "u3"),
        "reads do not open the window"
    );
}

#[tokio::test]
async fn notify_me_posts_the_otn_optin_with_a_usable_token() {
    let mut hk = hook().await;
    let h = harness().await;
    h.sim.set_webhook(hk.url.clone(), SECRET.into());
    let token = h
        .sim
        .user_taps_notify_me(PAGE, "u1", "sku-42")
        .await
        .unwrap();
    let ev = hk.next_event().await;
    assert_eq!(
        ev["optin"],
        json!({ "type": "one_time_notif_req", "payload": "sku-42", "one_time_notif_token": token })
    );
    assert!(!h.sim.window_open(PAGE, "u1"));
    assert_eq!(h.send(&otn_send(&token, "It's back")).await.0, 200);
}

#[tokio::test]
async fn accepted_sends_are_followed_by_receipts_and_echoes() {
    let mut hk = hook().await;
    let h = harness_at(june_2026(), |c| {
        c.auto_receipts = true;
        c.auto_reads = true;
        c.echoes = true;
        c.app_secret = SECRET.into();
    })
    .await;
    h.sim.set_webhook(hk.url.clone(), SECRET.into());
    let token = h.sim.issue_otn_token(PAGE, "u1");
    let mut body = otn_send(&token, "It's back");
    body["message"]["metadata"] = json!("corr-7");
    let (s, b) = h.send(&body).await;
    assert_eq!(s, 200);
    let mid = b["message_id"].clone();

    let echo = hk.next_event().await;
    assert_eq!(echo["sender"]["id"], PAGE);
    assert_eq!(echo["recipient"]["id"], "u1");
    assert_eq!(echo["timestamp"], h.sim.now_ms());
    assert_eq!(echo["message"]["is_echo"], true);
    assert_eq!(echo["message"]["app_id"], 1_517_776_481_860_111_u64);
    assert_eq!(echo["message"]["metadata"], "corr-7");
    assert_eq!(echo["message"]["mid"], mid);
    assert_eq!(echo["message"]["text"], "It's back");

    let delivery = hk.next_event().await;
    assert_eq!(delivery["sender"]["id"], "u1");
    assert_eq!(delivery["recipient"]["id"], PAGE);
    assert_eq!(delivery["delivery"]["mids"], json!([mid]));
    assert_eq!(delivery["delivery"]["watermark"], h.sim.now_ms());

    let read = hk.next_event().await;
    assert_eq!(read["read"]["watermark"], h.sim.now_ms());
    assert!(read["timestamp"].is_i64());
}

#[tokio::test]
async fn with_echoes_before_answers_the_echo_is_posted_before_the_send_api_answers() {
    let mut hk = hook().await;
    let h = harness_at(june_2026(), |c| {
        c.echoes = true;
        c.echo_before_answer = true;
    })
    .await;
    h.sim.set_webhook(hk.url.clone(), SECRET.into());
    let token = h.sim.issue_otn_token(PAGE, "u1");
    h.sim.inject(vec![crate::Fault::AcceptThenServerError]);
    let mut body = otn_send(&token, "It's back");
    body["message"]["metadata"] = json!("otn:9");
    let (s, _) = h.send(&body).await;
    assert_eq!(s, 500);
    // The hook had the echo (answered 200) before the Send API answered.
    let echo = tokio::time::timeout(std::time::Duration::ZERO, hk.next_event())
        .await
        .expect("the echo was already there");
    assert_eq!(echo["message"]["metadata"], "otn:9");
    assert_eq!(h.sim.accepted_for_token(&token), 1);
}

#[tokio::test]
async fn signature_matches_hmac_and_bad_secret_surfaces_as_error() {
    // Known HMAC-SHA256 vector (RFC 4231 style check computed independently by the hook too).
    let sig = signature_header("key", b"The quick brown fox jumps over the lazy dog");
    assert_eq!(
        sig,
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    );
    let hk = hook().await;
    let h = harness().await;
    h.sim.set_webhook(hk.url.clone(), "wrong-secret".into());
    // The receiver refuses the bad signature with 403; the simulated person reports it.
    assert!(h.sim.user_sends_message(PAGE, "u1", "hi").await.is_err());
    // Without a webhook the state still changes and nothing fails.
    h.sim.clear_webhook();
    h.sim.user_sends_message(PAGE, "u2", "hi").await.unwrap();
    assert!(h.sim.window_open(PAGE, "u2"));
}

async fn ctl(h: &super::Harness, path: &str, body: Value) -> Value {
    let resp = h
        .http
        .post(format!("{}/_sim/{path}", h.sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

#[tokio::test]
async fn control_api_drives_people_faults_and_stats() {
    let mut hk = hook().await;
    let h = harness().await;
    ctl(
        &h,
        "webhook",
        json!({ "url": hk.url, "app_secret": SECRET }),
    )
    .await;
    ctl(
        &h,
        "pages",
        json!({ "page_id": "2002", "access_token": "tok-2002" }),
    )
    .await;

    let r = ctl(
        &h,
        "notify_me",
        json!({ "page_id": PAGE, "psid": "u1", "payload": "p" }),
    )
    .await;
    let token = r["token"].as_str().unwrap().to_owned();
    assert_eq!(
        hk.next_event().await["optin"]["one_time_notif_token"],
        token.as_str()
    );
    ctl(
        &h,
        "message",
        json!({ "page_id": PAGE, "psid": "u1", "text": "hey" }),
    )
    .await;
    assert_eq!(hk.next_event().await["message"]["text"], "hey");

    let r = ctl(
        &h,
        "faults",
        json!({ "queue": [{ "kind": "server_error", "code": 1200 }] }),
    )
    .await;
    assert_eq!(r["queued"], 1);
    let (s, b) = h.send(&otn_send(&token, "x")).await;
    assert_eq!((s, codes(&b).0), (500, 1200));
    assert_eq!(h.send(&otn_send(&token, "x")).await.0, 200);
    assert_eq!(h.send(&otn_send(&token, "x")).await.0, 400);
    assert_eq!(h.send(&text_to("u1", "in window")).await.0, 200);

    let stats: Value = h
        .http
        .get(format!("{}/_sim/stats", h.sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["accepted_total"], 2);
    assert_eq!(stats["per_token"][token.as_str()], 1);

    let bad = h
        .http
        .post(format!("{}/_sim/faults", h.sim.base_url()))
        .json(&json!({ "queue": [{ "kind": "nonsense" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);

    let issued = ctl(&h, "issue_otn", json!({ "page_id": "2002", "psid": "u9" })).await;
    let resp = h
        .http
        .post(format!("{}/v23.0/2002/messages", h.sim.base_url()))
        .bearer_auth("tok-2002")
        .json(&otn_send(issued["token"].as_str().unwrap(), "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // The first page's token cannot send for the second page.
    let resp = h
        .http
        .post(format!("{}/v23.0/2002/messages", h.sim.base_url()))
        .bearer_auth(PAGE_TOKEN)
        .json(&otn_send("t", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(codes(&resp.json().await.unwrap()).0, 190);
}
