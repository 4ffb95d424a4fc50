//! End-to-end tests of the webhook's gate: the subscription handshake, signatures over the raw
//! body, and the body size limit.

use otn::v1::{GrantKind, GrantState};
use otn_server::clock::Clock;
use otn_testkit::meta::*;
use otn_testkit::{PAGE, spawn_app, spawn_with};
use reqwest::StatusCode;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// 1. The subscription handshake.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_handshake_echoes_the_challenge_only_for_subscribe_with_the_configured_verify_token() {
    let app = spawn_app().await;
    let token = app.world.page.verify_token.expose().to_string();
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
    assert_eq!(app.eligible(topic).await.total_size, 0);

    let ts = app.clock.now_ms();
    let body = body_of(ts, vec![otn_optin("u1", ts, topic, "otn-token-1")]);
    assert_eq!(post_signed(&app, body).await, StatusCode::OK);

    let l = app.eligible(topic).await;
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
    assert_eq!(app.eligible(topic).await.total_size, 0);

    // The very same bytes, rightly signed, go through: the refusal was the signature's.
    assert_eq!(post_signed(&app, body).await, StatusCode::OK);
    assert_eq!(app.eligible(topic).await.total_size, 1);
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
    assert_eq!(app.eligible(topic).await.total_size, 0);

    assert_eq!(post_signed(&app, body).await, StatusCode::OK);
    assert_eq!(app.eligible(topic).await.total_size, 1);
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
    assert_eq!(app.eligible(topic).await.total_size, 0);

    // Each form is accepted under its own signature (and the second is a replay).
    assert_eq!(post_signed(&app, pretty).await, StatusCode::OK);
    assert_eq!(post_signed(&app, original).await, StatusCode::OK);
    assert_eq!(app.eligible(topic).await.total_size, 1);
}

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
    assert_eq!(app.eligible(topic).await.total_size, 0);

    // The same event without the padding fits and is recorded.
    let small = body_of(ts, vec![otn_optin("u1", ts, topic, "otn-token-1")]);
    assert!(small.len() <= 1024);
    assert_eq!(post_signed(&app, small).await, StatusCode::OK);
    assert_eq!(app.eligible(topic).await.total_size, 1);
}
