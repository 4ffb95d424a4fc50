//! End-to-end tests of consent requests and grants: RequestOptIn rules and idempotency,
//! RecordOptIn replays, conflicts, validation and expiry.

use chrono::Duration;
use otn::v1::{self as pb, ExclusionReason, GrantState};
use otn_testkit::meta::{excluded as exclusion, opt_in_req};
use otn_testkit::{PAGE, reason, spawn_app, violated_fields};
use tonic::Code;

#[tokio::test]
async fn request_opt_in_sends_the_template_and_records_the_request() {
    let mut app = spawn_app().await;
    app.interact("u1").await;
    let resp = app
        .client
        .request_opt_in(opt_in_req("r1", "u1", "Adidas SL13 back in stock"))
        .await
        .unwrap()
        .into_inner();
    let sent = resp.opt_in_request.unwrap();
    assert!(!resp.replayed);
    assert!(!sent.message_id.is_empty());
    assert_eq!(sent.title, "Adidas SL13 back in stock");
    let at_meta = app.sim().opt_in_requests_sent(PAGE, "u1");
    assert_eq!(at_meta.len(), 1);
    assert_eq!(at_meta[0].title, "Adidas SL13 back in stock");
}

#[tokio::test]
async fn request_opt_in_names_every_invalid_field_and_changes_nothing() {
    let mut app = spawn_app().await;
    app.interact("u1").await;
    let mut req = opt_in_req("", "u1", &"x".repeat(66));
    req.topic_key = "has spaces".into();
    req.payload = "p".repeat(1001);
    let err = app.client.request_opt_in(req).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        ["request_id", "topic_key", "title", "payload"]
    );
    assert_eq!(reason(&err), "INVALID_FIELD");
    assert!(app.sim().opt_in_requests_sent(PAGE, "u1").is_empty());

    let mut req = opt_in_req("r1", "", "ok");
    req.page_id = String::new();
    let err = app.client.request_opt_in(req).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["page_id", "psid"]);
}

#[tokio::test]
async fn request_opt_in_outside_the_24_hour_window_is_refused() {
    let mut app = spawn_app().await;
    let err = app
        .client
        .request_opt_in(opt_in_req("r0", "never-talked", "Title"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "OUTSIDE_WINDOW");

    app.interact("u1").await;
    app.clock.advance(Duration::hours(23));
    app.client
        .request_opt_in(opt_in_req("r1", "u1", "Inside the window"))
        .await
        .unwrap();
    app.clock.advance(Duration::hours(2));
    let err = app
        .client
        .request_opt_in(opt_in_req("r2", "u1", "After the window"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "OUTSIDE_WINDOW");
    assert_eq!(app.sim().opt_in_requests_sent(PAGE, "u1").len(), 1);
}

#[tokio::test]
async fn the_same_title_may_not_be_asked_again_within_a_week() {
    let mut app = spawn_app().await;
    app.interact("u1").await;
    app.client
        .request_opt_in(opt_in_req("r1", "u1", "Restock alert"))
        .await
        .unwrap();
    app.clock.advance(Duration::days(6));
    app.interact("u1").await;
    let err = app
        .client
        .request_opt_in(opt_in_req("r2", "u1", "Restock alert"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "OPT_IN_RECENTLY_REQUESTED");
    app.clock.advance(Duration::days(2));
    app.interact("u1").await;
    app.client
        .request_opt_in(opt_in_req("r3", "u1", "Restock alert"))
        .await
        .unwrap();
    assert_eq!(app.sim().opt_in_requests_sent(PAGE, "u1").len(), 2);
}

#[tokio::test]
async fn request_opt_in_is_idempotent_on_request_id() {
    let mut app = spawn_app().await;
    app.interact("u1").await;
    let first = app
        .client
        .request_opt_in(opt_in_req("same", "u1", "Title"))
        .await
        .unwrap()
        .into_inner();
    let again = app
        .client
        .request_opt_in(opt_in_req("same", "u1", "Title"))
        .await
        .unwrap()
        .into_inner();
    assert!(again.replayed);
    assert_eq!(first.opt_in_request, again.opt_in_request);
    assert_eq!(app.sim().opt_in_requests_sent(PAGE, "u1").len(), 1);

    let err = app
        .client
        .request_opt_in(opt_in_req("same", "u1", "Another title"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
}

#[tokio::test]
async fn an_unknown_page_is_not_found() {
    let mut app = spawn_app().await;
    let mut req = opt_in_req("r1", "u1", "Title");
    req.page_id = "no-such-page".into();
    let err = app.client.request_opt_in(req).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(reason(&err), "PAGE_NOT_FOUND");
}

#[tokio::test]
async fn record_opt_in_replay_changes_nothing_and_says_so() {
    let mut app = spawn_app().await;
    let first = app.opt_in("u1", "topic-a", "tok-1").await;
    assert_eq!(first.state, GrantState::Active as i32);
    let req = pb::RecordOptInRequest {
        page_id: PAGE.into(),
        psid: "u1".into(),
        topic_key: "topic-a".into(),
        token: "tok-1".into(),
        ..Default::default()
    };
    let again = app
        .client
        .record_opt_in(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(again.replayed);
    assert_eq!(again.grant.unwrap().grant_id, first.grant_id);

    let mut other = req;
    other.psid = "u2".into();
    let err = app.client.record_opt_in(other).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "TOKEN_CONFLICT");

    let list = app.list("topic-a", 100, "").await;
    assert_eq!(list.total_size, 1);
    assert_eq!(list.recipients[0].grants.len(), 1);
}

#[tokio::test]
async fn one_time_grants_expire_one_year_after_the_opt_in() {
    let mut app = spawn_app().await;
    let g = app.opt_in("u1", "topic-a", "tok-1").await;
    let opted = g.opt_in_time.unwrap().seconds;
    assert_eq!(g.expire_time.unwrap().seconds - opted, 365 * 24 * 3600);
    app.clock.advance(Duration::days(366));
    let l = app.eligible("topic-a").await;
    assert_eq!(l.total_size, 0);
    assert_eq!(exclusion(&l, ExclusionReason::Expired), 1);
}

#[tokio::test]
async fn record_opt_in_validates_every_field() {
    let mut app = spawn_app().await;
    let err = app
        .client
        .record_opt_in(pb::RecordOptInRequest {
            page_id: PAGE.into(),
            psid: "u1".into(),
            topic_key: String::new(),
            topic_title: "t".repeat(66),
            kind: 42,
            token: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        ["topic_key", "topic_title", "kind", "token"]
    );
}
