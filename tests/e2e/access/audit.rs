//! What a key may do, RPC by RPC and page by page, and what it leaves behind: its name.

use std::time::Duration;

use otn::v1::{self as pb, DeliveryEventType as T};
use otn_testkit::{PAGE, World, connect, reason};

use super::calls::{codes_of_every_rpc, opt_in_req, send_req};
use tonic::Code;

#[tokio::test]
async fn every_rpc_is_answered_for_a_key_with_its_scope() {
    let world = World::new().await;
    let app = world.spawn().await;
    let mut clients = Vec::new();
    for scope in otn_testkit::ALL_SCOPES {
        let key = world
            .create_key(&format!("only-{scope}"), &[scope], &[])
            .await;
        clients.push((scope, connect(&app.url(), Some(&key)).await));
    }
    let needs = |rpc: &str| match rpc {
        "ListEligible" | "GetNotification" | "ListNotifications" | "StreamDeliveryEvents" => "read",
        "SendNotification" | "CancelNotification" => "send",
        "ForgetRecipient" => "erase",
        _ => "consent",
    };
    for (scope, client) in &clients {
        for (rpc, code) in codes_of_every_rpc(client).await {
            let refused = matches!(code, Code::Unauthenticated | Code::PermissionDenied);
            assert_eq!(
                refused,
                needs(rpc) != *scope,
                "{rpc} with a {scope} key: {code:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_page_limited_key_streams_only_its_pages() {
    let world = World::new().await;
    let other = otn_server::config::PageConfig {
        page_id: "page-b".into(),
        ..world.page.clone()
    };
    let app = world.spawn_with(|c| c.pages.push(other)).await;
    let mut admin = app.client.clone();
    for page in [PAGE, "page-b", PAGE] {
        admin
            .record_opt_in(opt_in_req(page, &format!("{page}-p")))
            .await
            .ok();
    }
    admin
        .record_opt_in(opt_in_req("page-b", "b2"))
        .await
        .unwrap();
    let key = world
        .create_key("page-b-reader", &["read"], &["page-b"])
        .await;
    app.running.last_event_sequence().await.unwrap();
    let mut c = connect(&app.url(), Some(&key)).await;
    let mut stream = c
        .stream_delivery_events(pb::StreamDeliveryEventsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    while let Ok(Some(Ok(r))) = tokio::time::timeout(
        Duration::from_millis(1_500),
        futures::StreamExt::next(&mut stream),
    )
    .await
    {
        seen.push(r.event.unwrap().page_id);
    }
    assert_eq!(seen, ["page-b", "page-b"], "only page-b's opt-ins");
    let err = c
        .stream_delivery_events(pb::StreamDeliveryEventsRequest {
            page_id: PAGE.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "PAGE_NOT_ALLOWED");
}

#[tokio::test]
async fn the_key_name_is_recorded_on_what_it_does() {
    let world = World::new().await;
    let mut app = world.spawn().await;
    let key = world
        .create_key("inventory", &["read", "consent", "send", "erase"], &[])
        .await;
    let mut c = connect(&app.url(), Some(&key)).await;
    let token = app.sim().issue_otn_token(PAGE, "u1");
    c.record_opt_in(pb::RecordOptInRequest {
        token,
        ..opt_in_req(PAGE, "u1")
    })
    .await
    .unwrap();
    let n = c
        .send_notification(send_req("named", PAGE))
        .await
        .unwrap()
        .into_inner()
        .notification
        .unwrap();
    assert_eq!(n.created_by, "inventory");
    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(done.created_by, "inventory", "GetNotification says who");
    let events = app.events_of(&n.notification_id).await;
    assert!(events.iter().any(|e| e.r#type == T::Queued as i32));
    assert!(
        events
            .iter()
            .filter(|e| e.r#type == T::Queued as i32)
            .all(|e| e.actor == "inventory")
    );

    c.record_opt_in(opt_in_req(PAGE, "u2")).await.unwrap();
    let revoked = c
        .revoke_grant(pb::RevokeGrantRequest {
            page_id: PAGE.into(),
            psid: "u2".into(),
            topic_key: "t".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !revoked.revoked.is_empty() && revoked.revoked.iter().all(|g| g.revoked_by == "inventory"),
        "{revoked:?}"
    );
    c.forget_recipient(pb::ForgetRecipientRequest {
        page_id: PAGE.into(),
        psid: "u2".into(),
    })
    .await
    .unwrap();
    app.running.last_event_sequence().await.unwrap();
    let mut all = app
        .client
        .stream_delivery_events(pb::StreamDeliveryEventsRequest {
            page_id: PAGE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut kinds = Vec::new();
    while let Ok(Some(Ok(r))) = tokio::time::timeout(
        Duration::from_millis(1_500),
        futures::StreamExt::next(&mut all),
    )
    .await
    {
        let e = r.event.unwrap();
        kinds.push((e.r#type, e.actor));
    }
    for t in [T::OptInRecorded, T::GrantRevoked, T::RecipientForgotten] {
        assert!(
            kinds.contains(&(t as i32, "inventory".to_string())),
            "{t:?} by inventory: {kinds:?}"
        );
    }
}
