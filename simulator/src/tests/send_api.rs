//! Tests of the Send API rules: auth, payload validation, the 24-hour window, tags and opt-in requests.

use chrono::{Duration, TimeZone};
use serde_json::{Value, json};

use super::{PAGE, PAGE_TOKEN, codes, harness, harness_at, text_to};
use crate::GrantKind;

#[tokio::test]
async fn text_in_window_is_accepted() {
    let h = harness().await;
    h.sim.open_window(PAGE, "u1");
    let (status, body) = h.send(&text_to("u1", "hello")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recipient_id"], "u1");
    let mid = body["message_id"].as_str().unwrap();
    assert!(mid.starts_with("m_"));
    let msgs = h.sim.accepted_messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].mid, mid);
    assert_eq!(msgs[0].page_id, PAGE);
    assert_eq!(msgs[0].message, json!({ "text": "hello" }));
    assert_eq!(msgs[0].messaging_type.as_deref(), Some("RESPONSE"));
    assert_eq!(h.sim.accepted_count(), 1);
}

#[tokio::test]
async fn message_ids_are_unique() {
    let h = harness().await;
    h.sim.open_window(PAGE, "u1");
    let (_, a) = h.send(&text_to("u1", "a")).await;
    let (_, b) = h.send(&text_to("u1", "b")).await;
    assert_ne!(a["message_id"], b["message_id"]);
}

#[tokio::test]
async fn outside_window_is_refused() {
    let h = harness().await;
    let (status, body) = h.send(&text_to("stranger", "hello")).await;
    assert_eq!(status, 400);
    assert_eq!(codes(&body), (10, Some(2_018_278)));

    h.sim.open_window(PAGE, "u1");
    h.advance(Duration::hours(23));
    assert_eq!(h.send(&text_to("u1", "still open")).await.0, 200);
    h.advance(Duration::hours(1));
    let (status, body) = h.send(&text_to("u1", "closed")).await;
    assert_eq!(status, 400);
    assert_eq!(codes(&body), (10, Some(2_018_278)));
    assert_eq!(h.sim.accepted_count(), 1);
}

#[tokio::test]
async fn wrong_page_token_is_190() {
    let h = harness().await;
    h.sim.open_window(PAGE, "u1");
    let body = text_to("u1", "hi");
    let url = h.url();
    let cases = [
        h.http.post(format!("{url}?access_token=nope")),
        h.http.post(&url),
        h.http.post(&url).bearer_auth("nope"),
        h.http
            .post(format!("{}/v23.0/999/messages", h.sim.base_url()))
            .bearer_auth(PAGE_TOKEN),
    ];
    for req in cases {
        let resp = req.json(&body).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(codes(&v).0, 190);
    }
    // Bearer auth and the explicit page path work.
    let resp = h
        .http
        .post(format!("{}/v23.0/{PAGE}/messages", h.sim.base_url()))
        .bearer_auth(PAGE_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(h.sim.accepted_count(), 1);
}

#[tokio::test]
async fn malformed_payloads_are_100() {
    let h = harness().await;
    h.sim.open_window(PAGE, "u1");
    let long = "x".repeat(2001);
    let button = |buttons: Value| {
        json!({ "recipient": { "id": "u1" }, "messaging_type": "RESPONSE", "message": { "attachment": {
            "type": "template", "payload": { "template_type": "button", "text": "t", "buttons": buttons } } } })
    };
    let cases = vec![
        json!({ "message": { "text": "no recipient" } }),
        json!({ "recipient": {}, "messaging_type": "RESPONSE", "message": { "text": "x" } }),
        json!({ "recipient": { "id": "u1", "one_time_notif_token": "t" }, "message": { "text": "x" } }),
        json!({ "recipient": { "id": "u1" }, "messaging_type": "RESPONSE" }),
        json!({ "recipient": { "id": "u1" }, "messaging_type": "RESPONSE", "message": { "text": "" } }),
        json!({ "recipient": { "id": "u1" }, "messaging_type": "RESPONSE", "message": { "text": long } }),
        json!({ "recipient": { "id": "u1" }, "messaging_type": "RESPONSE", "message": { "text": "a", "attachment": {} } }),
        json!({ "recipient": { "id": "u1" }, "messaging_type": "RESPONSE", "message": { "text": "a", "metadata": "m".repeat(1000) } }),
        json!({ "recipient": { "id": "u1" }, "messaging_type": "BOGUS", "message": { "text": "a" } }),
        json!({ "recipient": { "id": "u1" }, "message": { "text": "no messaging_type" } }),
        button(json!([])),
        button(json!([{ "type": "web_url", "title": "x".repeat(21), "url": "https://a.example" }])),
        button(json!([{ "type": "web_url", "title": "Go" }])),
        button(json!([{ "type": "phone_number", "title": "Call", "payload": "+1" }])),
        button(
            json!([{ "type": "postback", "title": "a", "payload": "p" }, { "type": "postback", "title": "b", "payload": "p" },
                      { "type": "postback", "title": "c", "payload": "p" }, { "type": "postback", "title": "d", "payload": "p" }]),
        ),
        json!({ "recipient": { "id": "u1" }, "messaging_type": "RESPONSE", "message": { "attachment": { "type": "template",
            "payload": { "template_type": "one_time_notif_req", "title": "t".repeat(66), "payload": "p" } } } }),
        json!({ "recipient": { "id": "u1" }, "messaging_type": "RESPONSE", "message": { "attachment": { "type": "template",
            "payload": { "template_type": "one_time_notif_req", "title": "t", "payload": "p", "image_url": "x" } } } }),
    ];
    for case in cases {
        let (status, body) = h.send(&case).await;
        assert_eq!(status, 400, "{case}");
        assert_eq!(codes(&body).0, 100, "{case}");
    }
    let raw = h
        .http
        .post(h.url())
        .bearer_auth(PAGE_TOKEN)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    assert_eq!(codes(&raw.json().await.unwrap()).0, 100);
    assert_eq!(h.sim.accepted_count(), 0);

    let ok = button(
        json!([{ "type": "web_url", "title": "Open", "url": "https://a.example" },
                           { "type": "postback", "title": "Later", "payload": "later" }]),
    );
    assert_eq!(h.send(&ok).await.0, 200);
}

#[tokio::test]
async fn tags_follow_the_rules_and_dates() {
    let h = harness().await;
    h.sim.open_window(PAGE, "u1");
    let tagged = |mt: &str, tag: &str| json!({ "recipient": { "id": "u1" }, "messaging_type": mt, "tag": tag, "message": { "text": "x" } });
    // A tag needs MESSAGE_TAG.
    let (s, b) = h.send(&tagged("UPDATE", "HUMAN_AGENT")).await;
    assert_eq!((s, codes(&b).0), (400, 100));
    // Retired tags after 2026-04-27.
    let (s, b) = h.send(&tagged("MESSAGE_TAG", "ACCOUNT_UPDATE")).await;
    assert_eq!((s, codes(&b).0), (400, 100));
    // HUMAN_AGENT: up to 7 days after the last user message.
    h.advance(Duration::days(3));
    assert_eq!(h.send(&tagged("MESSAGE_TAG", "HUMAN_AGENT")).await.0, 200);
    h.advance(Duration::days(5));
    let (s, b) = h.send(&tagged("MESSAGE_TAG", "HUMAN_AGENT")).await;
    assert_eq!((s, codes(&b)), (400, (10, Some(2_018_278))));

    // Before the retirement the legacy tags work outside the window.
    let early = chrono::Utc.with_ymd_and_hms(2026, 4, 26, 23, 0, 0).unwrap();
    let h = harness_at(early, |_| {}).await;
    assert_eq!(
        h.send(&tagged("MESSAGE_TAG", "POST_PURCHASE_UPDATE"))
            .await
            .0,
        200
    );
    h.advance(Duration::hours(1));
    let (s, b) = h.send(&tagged("MESSAGE_TAG", "POST_PURCHASE_UPDATE")).await;
    assert_eq!((s, codes(&b).0), (400, 100));
}

fn otn_request(psid: &str, title: &str, payload: &str) -> Value {
    json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE", "message": { "attachment": {
        "type": "template", "payload": { "template_type": "one_time_notif_req", "title": title, "payload": payload } } } })
}

#[tokio::test]
async fn opt_in_requests_need_the_window_and_a_fresh_title() {
    let h = harness().await;
    let (s, b) = h.send(&otn_request("u1", "Back in stock", "sku-1")).await;
    assert_eq!((s, codes(&b)), (400, (10, Some(2_018_278))));

    h.sim.open_window(PAGE, "u1");
    let (s, first) = h.send(&otn_request("u1", "Back in stock", "sku-1")).await;
    assert_eq!(s, 200, "{first}");
    let (s, b) = h.send(&otn_request("u1", "Back in stock", "sku-2")).await;
    assert_eq!((s, codes(&b)), (400, (613, Some(1_893_016))));
    assert_eq!(
        h.send(&otn_request("u1", "Price drop", "sku-1")).await.0,
        200
    );

    let sent = h.sim.opt_in_requests_sent(PAGE, "u1");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].kind, GrantKind::OneTimeNotification);
    assert_eq!(sent[0].title, "Back in stock");
    assert_eq!(sent[0].payload, "sku-1");
    assert_eq!(sent[0].mid, first["message_id"].as_str().unwrap());

    // A week later the same title may be asked again (after the person writes again).
    h.advance(Duration::days(7));
    h.sim.open_window(PAGE, "u1");
    assert_eq!(
        h.send(&otn_request("u1", "Back in stock", "sku-1")).await.0,
        200
    );
}

#[tokio::test]
async fn marketing_opt_in_request_is_validated() {
    let h = harness().await;
    h.sim.open_window(PAGE, "u1");
    let req = |cta: &str| {
        json!({ "recipient": { "id": "u1" }, "messaging_type": "RESPONSE", "message": { "attachment": {
            "type": "template", "payload": { "template_type": "notification_messages", "title": "Deals",
            "payload": "deals", "image_url": "https://a.example/i.png", "image_aspect_ratio": "SQUARE",
            "notification_messages_cta_text": cta, "notification_messages_timezone": "Europe/Paris" } } } })
    };
    let (s, b) = h.send(&req("NOPE")).await;
    assert_eq!((s, codes(&b).0), (400, 100));
    assert_eq!(h.send(&req("GET_UPDATES")).await.0, 200);
    let sent = h.sim.opt_in_requests_sent(PAGE, "u1");
    assert_eq!(sent[0].kind, GrantKind::NotificationMessages);
}

#[tokio::test]
async fn grant_send_does_not_open_the_window() {
    let h = harness().await;
    let token = h.sim.issue_otn_token(PAGE, "u1");
    assert_eq!(h.send(&super::otn_send(&token, "news")).await.0, 200);
    assert!(!h.sim.window_open(PAGE, "u1"));
    assert_eq!(h.send(&text_to("u1", "follow-up")).await.0, 400);
}
