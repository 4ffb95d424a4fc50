//! Requests past their bounds: long lists cost one check and change nothing, unknown methods
//! are UNIMPLEMENTED for a caller and UNAUTHENTICATED for nobody, metric labels stay closed,
//! another page's resources answer as missing ones, a deadline is DEADLINE_EXCEEDED.

use std::time::Duration;

use otn::v1 as pb;
use otn_testkit::{PAGE, World, connect, reason, violated_fields};
use tonic::Code;

fn tags(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("t{i}")).collect()
}

#[tokio::test]
async fn fifteen_thousand_tags_in_a_filter_are_one_violation_and_the_server_stays_up() {
    let world = World::new().await;
    let app = world.spawn().await;
    let reader = world.create_key("reader", &["read"], &[PAGE]).await;
    let mut c = connect(&app.url(), Some(&reader)).await;
    for list in ["all_of", "any_of", "none_of"] {
        let mut f = pb::TagFilter::default();
        match list {
            "all_of" => f.all_of = tags(15_000),
            "any_of" => f.any_of = tags(15_000),
            _ => f.none_of = tags(15_000),
        }
        let err = c
            .list_eligible(pb::ListEligibleRequest {
                page_id: PAGE.into(),
                topic_key: "back-in-stock:sku-1".into(),
                tag_filter: Some(f.clone()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{list}");
        assert_eq!(violated_fields(&err), [format!("tag_filter.{list}")]);
        let err = app
            .client
            .clone()
            .send_notification(pb::SendNotificationRequest {
                request_id: format!("many-{list}"),
                page_id: PAGE.into(),
                topic_key: "back-in-stock:sku-1".into(),
                audience: Some(pb::Audience {
                    selection: Some(pb::audience::Selection::TagFilter(f)),
                }),
                content: Some(pb::Content {
                    body: Some(pb::content::Body::Text("Back".into())),
                }),
                options: Some(pb::SendOptions {
                    dry_run: true,
                    ..Default::default()
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(
            violated_fields(&err),
            [format!("audience.tag_filter.{list}")]
        );
    }
    // Fifty tags, the most a list may hold, run as one statement (no nesting per tag).
    let l = c
        .list_eligible(pb::ListEligibleRequest {
            page_id: PAGE.into(),
            topic_key: "back-in-stock:sku-1".into(),
            tag_filter: Some(pb::TagFilter {
                all_of: tags(50),
                any_of: tags(50),
                none_of: tags(50),
            }),
            ..Default::default()
        })
        .await
        .expect("fifty tags per list are fine");
    assert!(l.into_inner().recipients.is_empty());
}

#[tokio::test]
async fn a_million_bad_regions_cost_one_violation() {
    let world = World::new().await;
    let app = world.spawn().await;
    // 200,000 two-character entries fit the 1 MiB request limit: one violation, not 200,000.
    let regions = vec!["1x".to_string(); 200_000];
    let err = app
        .client
        .clone()
        .list_eligible(pb::ListEligibleRequest {
            page_id: PAGE.into(),
            topic_key: "t".into(),
            regions: regions.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["regions"]);
    // Past the request size limit the server does not even decode it.
    let err = app
        .client
        .clone()
        .list_eligible(pb::ListEligibleRequest {
            page_id: PAGE.into(),
            topic_key: "t".into(),
            regions: vec!["not-a-region".to_string(); 1_300_000],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    // Many bad entries within the bounds: at most violations_max are listed.
    let err = app
        .client
        .clone()
        .send_notification(pb::SendNotificationRequest {
            request_id: "bad-psids".into(),
            page_id: PAGE.into(),
            topic_key: "t".into(),
            audience: Some(pb::Audience {
                selection: Some(pb::audience::Selection::Recipients(pb::RecipientList {
                    psids: vec!["a/b".into(); 10_000],
                })),
            }),
            content: Some(pb::Content {
                body: Some(pb::content::Body::Text("x".into())),
            }),
            options: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&err).len(),
        otn::limits::VIOLATIONS_MAX,
        "the list of violations is capped"
    );
}

#[tokio::test]
async fn unknown_methods_are_unauthenticated_without_a_key_and_unimplemented_with_one() {
    let world = World::new().await;
    let app = world.spawn().await;
    let call = |key: Option<String>, method: String| {
        let url = app.url();
        async move {
            let channel = tonic::transport::Channel::from_shared(url)
                .unwrap()
                .connect()
                .await
                .unwrap();
            let mut grpc = tonic::client::Grpc::new(channel);
            grpc.ready().await.unwrap();
            let path = format!("/otn.v1.NotificationService/{method}")
                .parse()
                .unwrap();
            let mut req = tonic::Request::new(pb::GetNotificationRequest::default());
            if let Some(k) = key {
                req.metadata_mut()
                    .insert("authorization", format!("Bearer {k}").parse().unwrap());
            }
            let codec = tonic_prost::ProstCodec::<_, pb::GetNotificationResponse>::default();
            grpc.unary(req, path, codec).await.unwrap_err()
        }
    };
    let err = call(None, "MadeUpMethod".into()).await;
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert_eq!(reason(&err), "API_KEY_MISSING");
    let err = call(Some(world.key.clone()), "MadeUpMethod".into()).await;
    assert_eq!(err.code(), Code::Unimplemented, "{err:?}");
    // A flood of made-up names leaves the metrics' label set as it was.
    for i in 0..300 {
        call(None, format!("Junk{i:04}xyzzy")).await;
    }
    let metrics = otn_testkit::meta::http()
        .get(format!("http://{}/metrics", app.running.admin_addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains("Junk0"),
        "a caller's method name became a label"
    );
    assert!(metrics.contains(r#"method="other""#), "{metrics}");
}

#[tokio::test]
async fn another_pages_notification_answers_exactly_as_a_missing_one() {
    let world = World::new().await;
    let other = otn_server::config::PageConfig {
        page_id: "page-b".into(),
        ..world.page.clone()
    };
    let mut app = world.spawn_with(|c| c.pages.push(other)).await;
    let grant = app.opt_in("u1", "t", "tok-1").await;
    app.opt_in("u2", "t2", "tok-2").await;
    let n = app.send("mine", "t2", pb::SendOptions::default()).await;
    let key = world
        .create_key("page-b", &["read", "send", "consent"], &["page-b"])
        .await;
    let mut c = connect(&app.url(), Some(&key)).await;
    let missing = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    let answer =
        |e: tonic::Status, id: &str| (e.code(), reason(&e), e.message().replace(id, "<id>"));
    let theirs = c
        .get_notification(pb::GetNotificationRequest {
            notification_id: n.notification_id.clone(),
        })
        .await
        .unwrap_err();
    let nobodys = c
        .get_notification(pb::GetNotificationRequest {
            notification_id: missing.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(answer(theirs, &n.notification_id), answer(nobodys, missing));
    let theirs = c
        .cancel_notification(pb::CancelNotificationRequest {
            notification_id: n.notification_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(theirs.code(), Code::NotFound);
    let grant_id = grant.grant_id.clone();
    let theirs = c
        .revoke_grant(pb::RevokeGrantRequest {
            grant_id: grant_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let nobodys = c
        .revoke_grant(pb::RevokeGrantRequest {
            grant_id: "987654321".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(answer(theirs, &grant_id), answer(nobodys, "987654321"));
}

/// One unary call over plain HTTP/2 with a `grpc-timeout` header (a tonic client would give
/// up on its own first): the server's own answer, `(grpc-status, grpc-message)`.
async fn call_with_deadline(
    app: &otn_testkit::TestApp,
    req: &impl prost::Message,
    timeout: &str,
) -> (String, String) {
    let mut body = vec![0u8];
    body.extend_from_slice(&(req.encoded_len() as u32).to_be_bytes());
    body.extend_from_slice(&req.encode_to_vec());
    otn_simulator::install_crypto_provider();
    let resp = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
        .post(format!(
            "{}/otn.v1.NotificationService/RequestOptIn",
            app.url()
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-timeout", timeout)
        .header("authorization", format!("Bearer {}", app.world.key))
        .body(body)
        .send()
        .await
        .unwrap();
    let h = |k: &str| {
        resp.headers()
            .get(k)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    (h("grpc-status"), h("grpc-message"))
}

#[tokio::test]
async fn a_callers_deadline_ends_the_call_deadline_exceeded_never_cancelled() {
    let world = World::new().await;
    let app = world.spawn_with(|c| c.graph_timeout_ms = 5_000).await;
    for i in 0..10 {
        let psid = format!("slow-{i}");
        app.sim().open_window(PAGE, &psid);
        app.client
            .clone()
            .record_interaction(pb::RecordInteractionRequest {
                page_id: PAGE.into(),
                psid: psid.clone(),
                kind: pb::InteractionKind::Message as i32,
                ..Default::default()
            })
            .await
            .unwrap();
        app.sim()
            .inject(vec![otn_simulator::Fault::Timeout(Duration::from_millis(
                1_500,
            ))]);
        let req =
            otn_testkit::meta::opt_in_request(&format!("slow-{i}"), &psid, "back-in-stock:sku-1");
        let (status, message) = call_with_deadline(&app, &req, "300m").await;
        // 4 is DEADLINE_EXCEEDED (tonic's own layer answered 1, CANCELLED, racing the caller).
        assert_eq!(status, "4", "attempt {i}: {message}");
    }
}
