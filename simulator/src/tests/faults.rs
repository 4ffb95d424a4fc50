//! Tests of fault injection: queued faults in order, random rates, stalls and dropped connections.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{PAGE, PAGE_TOKEN, codes, harness, otn_send, text_to};
use crate::{Fault, TOKEN_USED_MESSAGE};

#[tokio::test]
async fn queued_faults_apply_in_order_and_accept_nothing() {
    let h = harness().await;
    h.sim.open_window(PAGE, "u1");
    h.sim.inject(vec![
        Fault::RateLimited,
        Fault::ServerError,
        Fault::ServerErrorCode(1200),
        Fault::TokenInvalid,
        Fault::PageTokenInvalid,
        Fault::Blocked,
        Fault::BlockedPage,
        Fault::RateLimitedWith {
            code: 4,
            regain_minutes: 7,
        },
    ]);
    assert_eq!(h.sim.queued_faults(), 8);
    let body = text_to("u1", "hi");

    let resp = h
        .http
        .post(h.url())
        .bearer_auth(PAGE_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let usage: Value = serde_json::from_str(
        resp.headers()["x-business-use-case-usage"]
            .to_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(usage[PAGE][0]["estimated_time_to_regain_access"], 1);
    assert_eq!(codes(&resp.json().await.unwrap()).0, 613);

    let expected = [
        (500, 2, None),
        (500, 1200, None),
        (400, 100, None),
        (400, 190, None),
        (400, 10, Some(2_018_108)),
        (400, 200, Some(1_545_041)),
        (400, 4, None),
    ];
    for (status, code, sub) in expected {
        let (s, b) = h.send(&body).await;
        assert_eq!((s, codes(&b)), (status, (code, sub)));
    }
    assert_eq!(h.sim.accepted_count(), 0);
    assert_eq!(h.sim.queued_faults(), 0);
    assert_eq!(h.send(&body).await.0, 200);
}

#[tokio::test]
async fn drop_connection_is_a_transport_error_and_accepts_nothing() {
    let h = harness().await;
    let token = h.sim.issue_otn_token(PAGE, "u1");
    h.sim.inject(vec![Fault::DropConnection]);
    let r = h
        .http
        .post(h.url())
        .bearer_auth(PAGE_TOKEN)
        .json(&otn_send(&token, "x"))
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the client must see a transport error");
    assert_eq!(h.sim.accepted_for_token(&token), 0);
    assert_eq!(h.send(&otn_send(&token, "x")).await.0, 200);
}

#[tokio::test]
async fn accept_then_drop_spends_the_token() {
    let h = harness().await;
    let token = h.sim.issue_otn_token(PAGE, "u1");
    h.sim.inject(vec![Fault::AcceptThenDrop]);
    let r = h
        .http
        .post(h.url())
        .bearer_auth(PAGE_TOKEN)
        .json(&otn_send(&token, "x"))
        .send()
        .await;
    assert!(r.is_err(), "the response head must not arrive");
    assert_eq!(h.sim.accepted_for_token(&token), 1);
    // The retry learns the token is spent; still exactly one message.
    let (s, b) = h.send(&otn_send(&token, "x")).await;
    assert_eq!((s, codes(&b)), (400, (100, None)));
    assert_eq!(b["error"]["message"], TOKEN_USED_MESSAGE);
    assert_eq!(h.sim.accepted_for_token(&token), 1);
}

#[tokio::test]
async fn accepted_then_answered_with_an_error_spends_the_token_whatever_the_answer() {
    let h = harness().await;
    let cases = [
        (Fault::AcceptThenServerError, 500, Some((2, true))),
        (Fault::AcceptThenServerErrorCode(1), 500, Some((1, false))),
        (Fault::AcceptThenBadGateway, 502, None),
    ];
    for (fault, status, graph) in cases {
        let token = h.sim.issue_otn_token(PAGE, "u1");
        h.sim.inject(vec![fault.clone()]);
        let resp = h
            .http
            .post(h.url())
            .bearer_auth(PAGE_TOKEN)
            .json(&otn_send(&token, "x"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "{fault:?}");
        let text = resp.text().await.unwrap();
        match graph {
            Some((code, transient)) => {
                let b: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(codes(&b), (code, None), "{fault:?}");
                assert_eq!(
                    b["error"]["is_transient"].as_bool().unwrap_or(false),
                    transient
                );
            }
            None => assert!(text.contains("<html>"), "{fault:?}: {text}"),
        }
        assert_eq!(h.sim.accepted_for_token(&token), 1, "{fault:?}");
        let (s, b) = h.send(&otn_send(&token, "x")).await;
        assert_eq!(
            (s, b["error"]["message"].as_str()),
            (400, Some(TOKEN_USED_MESSAGE))
        );
    }
}

#[tokio::test]
async fn an_invalid_token_fault_names_the_field_the_send_used() {
    let h = harness().await;
    let otn = h.sim.issue_otn_token(PAGE, "u1");
    let marketing = h.sim.issue_marketing_token(PAGE, "u1");
    h.sim.inject(vec![Fault::TokenInvalid, Fault::TokenInvalid]);
    let (_, b) = h.send(&otn_send(&otn, "x")).await;
    assert_eq!(
        b["error"]["message"],
        "(#100) one_time_notif_token is invalid"
    );
    let (_, b) = h.send(&super::marketing_send(&marketing, "x")).await;
    assert_eq!(
        b["error"]["message"],
        "(#100) notification_messages_token is invalid"
    );
    assert_eq!(h.sim.accepted_count(), 0);
}

#[tokio::test]
async fn timeouts_stall_and_only_the_accepting_kind_accepts() {
    let h = harness().await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let post = |token: &str| {
        client
            .post(h.url())
            .bearer_auth(PAGE_TOKEN)
            .json(&otn_send(token, "x"))
            .send()
    };
    let t1 = h.sim.issue_otn_token(PAGE, "u1");
    h.sim.inject(vec![Fault::Timeout(Duration::from_secs(5))]);
    assert!(post(&t1).await.unwrap_err().is_timeout());
    assert_eq!(h.sim.accepted_for_token(&t1), 0);

    let t2 = h.sim.issue_otn_token(PAGE, "u1");
    h.sim
        .inject(vec![Fault::AcceptThenTimeout(Duration::from_secs(5))]);
    assert!(post(&t2).await.unwrap_err().is_timeout());
    assert_eq!(h.sim.accepted_for_token(&t2), 1);

    // A short stall answers 500 code 2 without accepting.
    let t3 = h.sim.issue_otn_token(PAGE, "u1");
    h.sim
        .inject(vec![Fault::Timeout(Duration::from_millis(20))]);
    let (s, b) = h.send(&otn_send(&t3, "x")).await;
    assert_eq!((s, codes(&b).0), (500, 2));
    assert_eq!(h.sim.accepted_for_token(&t3), 0);
}

#[tokio::test]
async fn fault_rates_apply_at_random_and_can_be_switched_off() {
    let h = harness().await;
    h.sim.open_window(PAGE, "u1");
    h.sim.set_fault_rate(Fault::ServerError, 1000);
    for _ in 0..5 {
        assert_eq!(h.send(&text_to("u1", "x")).await.0, 500);
    }
    h.sim.set_fault_rate(Fault::ServerError, 300);
    let mut failures = 0;
    for _ in 0..200 {
        if h.send(&text_to("u1", "x")).await.0 == 500 {
            failures += 1;
        }
    }
    assert!((20..=120).contains(&failures), "{failures} of 200");
    h.sim.set_fault_rate(Fault::ServerError, 0);
    assert_eq!(h.send(&text_to("u1", "x")).await.0, 200);
    assert_eq!(h.sim.accepted_count(), 201 - failures);
}

#[tokio::test]
async fn latency_delays_answers() {
    let h = harness().await;
    h.sim.open_window(PAGE, "u1");
    h.sim.set_latency(Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(h.send(&text_to("u1", "x")).await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn page_rate_limit_refuses_beyond_the_cap() {
    let h = super::harness_at(super::june_2026(), |c| c.page_rate_limit_per_sec = Some(3)).await;
    h.sim.open_window(PAGE, "u1");
    for _ in 0..3 {
        assert_eq!(h.send(&text_to("u1", "x")).await.0, 200);
    }
    let (s, b) = h.send(&text_to("u1", "x")).await;
    assert_eq!((s, codes(&b).0), (400, 613));
    h.advance(chrono::Duration::seconds(1));
    assert_eq!(h.send(&text_to("u1", "x")).await.0, 200);
}
