//! Webhooks an attacker sends or replays: an opt-in replayed after the person was forgotten,
//! times no Meta event can carry, and signatures whose cost must not grow with the pages.

use otn::v1 as pb;
use otn_server::clock::Clock;
use otn_testkit::meta::*;
use otn_testkit::{PAGE, World};
use reqwest::StatusCode;
use serde_json::json;

const TOPIC: &str = "back-in-stock:sku-1";

#[tokio::test]
async fn a_replayed_opt_in_from_before_an_erasure_does_not_bring_the_person_back() {
    let world = World::new().await;
    let mut app = world.spawn().await;
    let ts = app.clock.now_ms();
    let body = body_of(ts, vec![otn_optin("alice", ts, TOPIC, "otn-alice-1")]);
    assert_eq!(post_signed(&app, body.clone()).await, StatusCode::OK);
    assert_eq!(app.eligible(TOPIC).await.total_size, 1);
    let forgotten = app
        .client
        .forget_recipient(pb::ForgetRecipientRequest {
            page_id: PAGE.into(),
            psid: "alice".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(forgotten.found);
    world.clock.advance(chrono::Duration::seconds(60));
    // Meta's signed body again, byte for byte: answered 200 (it is Meta's), applied as nothing.
    assert_eq!(post_signed(&app, body).await, StatusCode::OK);
    assert_eq!(app.eligible(TOPIC).await.total_size, 0);
    let err = app
        .client
        .revoke_grant(pb::RevokeGrantRequest {
            page_id: PAGE.into(),
            psid: "alice".into(),
            topic_key: TOPIC.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        otn_testkit::reason(&err),
        "RECIPIENT_NOT_FOUND",
        "not re-created"
    );
    // The same through the API, stamped before the erasure.
    let err = app
        .client
        .record_opt_in(pb::RecordOptInRequest {
            page_id: PAGE.into(),
            psid: "alice".into(),
            topic_key: TOPIC.into(),
            token: "otn-alice-2".into(),
            opt_in_time: Some(prost_types::Timestamp {
                seconds: ts / 1000,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(otn_testkit::reason(&err), "RECIPIENT_FORGOTTEN");
    // A new opt-in, after the erasure, is new consent.
    let later = app.clock.now_ms();
    let fresh = body_of(later, vec![otn_optin("alice", later, TOPIC, "otn-alice-3")]);
    assert_eq!(post_signed(&app, fresh).await, StatusCode::OK);
    assert_eq!(app.eligible(TOPIC).await.total_size, 1);
}

#[tokio::test]
async fn opt_ins_stamped_at_times_meta_cannot_have_are_skipped_and_the_rest_applied() {
    let world = World::new().await;
    let mut app = world.spawn().await;
    let now = app.clock.now_ms();
    let body = body_of(
        now,
        vec![
            otn_optin("max", i64::MAX, TOPIC, "otn-max"),
            otn_optin("old", 1_420_070_400_000, TOPIC, "otn-2015"),
            otn_optin("ahead", now + 2 * 86_400_000, TOPIC, "otn-ahead"),
            otn_optin("fine", now, TOPIC, "otn-fine"),
        ],
    );
    assert_eq!(post_signed(&app, body).await, StatusCode::OK);
    let l = app.eligible(TOPIC).await;
    assert_eq!(psids(&l), ["fine"]);
    let g = &l.recipients[0].grants[0];
    let expiry = ms(g.expire_time.as_ref().unwrap());
    assert!(expiry > now && expiry <= now + 366 * 86_400_000, "{expiry}");
    let metrics = otn_testkit::meta::http()
        .get(format!("http://{}/metrics", app.running.admin_addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("implausible_timestamp"), "{metrics}");
}

#[tokio::test]
async fn a_bogus_signature_costs_one_hmac_per_app_named_whatever_the_pages() {
    let world = World::new().await;
    // 200 pages of one app (the usual shape) and 9 pages of 9 other apps.
    let mut pages: Vec<otn_server::config::PageConfig> = (0..200)
        .map(|i| otn_server::config::PageConfig {
            page_id: format!("shop-{i}"),
            ..world.page.clone()
        })
        .collect();
    for i in 0..9 {
        pages.push(otn_server::config::PageConfig {
            page_id: format!("app-{i}"),
            app_secret: otn_server::config::Secret::new(format!("secret-of-app-{i}")),
            ..world.page.clone()
        });
    }
    let app = world.spawn_with(|c| c.pages.extend(pages)).await;
    let now = app.clock.now_ms();
    let entries = |ids: Vec<String>| {
        envelope(
            ids.into_iter()
                .map(|id| json!({"id": id, "time": now, "messaging": []}))
                .collect(),
        )
    };
    let bogus = format!("sha256={}", "0".repeat(64));
    // Named pages of one app: checked against that app's secret, refused.
    let one_app = entries((0..200).map(|i| format!("shop-{i}")).collect());
    assert_eq!(
        post_raw(&app, one_app.clone(), Some(&bogus)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(post_signed(&app, one_app).await, StatusCode::OK);
    // Pages of nine different apps in one body: no app sends that; refused without work.
    let nine_apps = entries((0..9).map(|i| format!("app-{i}")).collect());
    let sig = sign("secret-of-app-0", &nine_apps);
    assert_eq!(
        post_raw(&app, nine_apps, Some(&sig)).await,
        StatusCode::FORBIDDEN
    );
    // A body naming no page of ours applies nothing, whatever its signature (Meta is not made
    // to retry, nor to disable the webhook, over a page otn no longer serves).
    let theirs = body_of(now, vec![otn_optin("eve", now, TOPIC, "otn-eve")]);
    let theirs = String::from_utf8(theirs)
        .unwrap()
        .replace(PAGE, "not-ours")
        .into_bytes();
    assert_eq!(post_raw(&app, theirs, Some(&bogus)).await, StatusCode::OK);
    let mut c = app.client.clone();
    let l = c
        .list_eligible(pb::ListEligibleRequest {
            page_id: PAGE.into(),
            topic_key: TOPIC.into(),
            include_total_size: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(l.total_size, 0);
    // A large bogus body is checked off the async threads and refused all the same.
    let mut big = body_of(now, vec![otn_optin("bob", now, TOPIC, "otn-bob")]);
    let pad = " ".repeat(512 * 1024);
    big.splice(1..1, pad.into_bytes());
    assert_eq!(
        post_raw(&app, big.clone(), Some(&bogus)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(post_signed(&app, big).await, StatusCode::OK);
    assert_eq!(
        app.client
            .clone()
            .list_eligible(pb::ListEligibleRequest {
                page_id: PAGE.into(),
                topic_key: TOPIC.into(),
                include_total_size: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .total_size,
        1
    );
}
