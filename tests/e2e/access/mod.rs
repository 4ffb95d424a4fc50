//! API keys as a caller meets them: no key, a wrong or revoked key, a key without the scope or
//! the page, every RPC with the right key, a page-limited stream, and the key's name on what it
//! did.

mod audit;
mod calls;

use std::time::Duration;

use otn::v1 as pb;
use otn_testkit::{PAGE, World, connect, reason};
use tonic::Code;

use calls::{codes_of_every_rpc, info, opt_in_req, send_req};

#[tokio::test]
async fn no_key_a_wrong_key_and_a_revoked_key_are_unauthenticated_on_every_rpc() {
    let world = World::new().await;
    let app = world.spawn_with(|c| c.api_key_cache_ms = 100).await;
    let anonymous = connect(&app.url(), None).await;
    for (rpc, code) in codes_of_every_rpc(&anonymous).await {
        assert_eq!(code, Code::Unauthenticated, "{rpc} without a key");
    }
    let err = anonymous
        .clone()
        .record_opt_in(opt_in_req(PAGE, "a"))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "API_KEY_MISSING");
    let wrong = connect(&app.url(), Some("not-a-real-key")).await;
    for (rpc, code) in codes_of_every_rpc(&wrong).await {
        assert_eq!(code, Code::Unauthenticated, "{rpc} with a wrong key");
    }
    let err = wrong
        .clone()
        .send_notification(send_req("w", PAGE))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "API_KEY_INVALID");

    let key = world
        .create_key("inventory", &["read", "send", "consent"], &[])
        .await;
    let mut client = connect(&app.url(), Some(&key)).await;
    client
        .record_opt_in(opt_in_req(PAGE, "b"))
        .await
        .expect("a live key works");
    assert_eq!(
        otn_server::admin::revoke_api_key(&world.database_url, "inventory")
            .await
            .unwrap(),
        1
    );
    let revoked = otn_testkit::eventually("revocation seen", Duration::from_secs(5), || {
        let mut client = client.clone();
        async move {
            match client
                .list_eligible(pb::ListEligibleRequest {
                    page_id: PAGE.into(),
                    topic_key: "t".into(),
                    ..Default::default()
                })
                .await
            {
                Err(s) if s.code() == Code::Unauthenticated => Ok(s),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    assert_eq!(reason(&revoked), "API_KEY_INVALID");
    assert_eq!(
        app.sim().stats().accepted_total,
        0,
        "nothing was sent by anyone"
    );
}

#[tokio::test]
async fn a_key_without_the_scope_or_the_page_is_refused_and_changes_nothing() {
    let world = World::new().await;
    let app = world.spawn().await;
    let reader = world.create_key("dashboard", &["read"], &[]).await;
    let err = connect(&app.url(), Some(&reader))
        .await
        .send_notification(send_req("r", PAGE))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(
        (reason(&err), info(&err, "scope")),
        ("SCOPE_MISSING".into(), "send".into())
    );

    let sender = world
        .create_key("inventory", &["send", "consent"], &[])
        .await;
    let mut c = connect(&app.url(), Some(&sender)).await;
    let err = c
        .forget_recipient(pb::ForgetRecipientRequest {
            page_id: PAGE.into(),
            psid: "u".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(info(&err, "scope"), "erase");

    let other_page = world
        .create_key("page-b-only", &["read", "consent", "send"], &["page-b"])
        .await;
    let mut c = connect(&app.url(), Some(&other_page)).await;
    let err = c.record_opt_in(opt_in_req(PAGE, "x")).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(
        (reason(&err), info(&err, "page_id")),
        ("PAGE_NOT_ALLOWED".into(), PAGE.into())
    );
    let err = c.send_notification(send_req("b", PAGE)).await.unwrap_err();
    assert_eq!(reason(&err), "PAGE_NOT_ALLOWED");

    let mut admin = app.client.clone();
    let l = admin
        .list_eligible(pb::ListEligibleRequest {
            page_id: PAGE.into(),
            topic_key: "t".into(),
            include_total_size: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(l.total_size, 0, "the refused opt-in was not recorded");
    let n = admin
        .list_notifications(pb::ListNotificationsRequest {
            page_id: PAGE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(n.notifications.is_empty(), "no notification was made");
}
