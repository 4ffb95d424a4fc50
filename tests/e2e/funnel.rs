//! The funnel's edges (issue 22): tracked links (a tampered link is 404, a HEAD counts nothing,
//! the redirect goes only where the send said, a click counts once), grants that expire unused
//! and grants revoked, the streamed export of a notification's deliveries, the Prometheus
//! counters, and GetFunnel's refusals.

use std::time::Duration;

use otn::v1::{self as pb, DeliveryEventType as T};
use otn_server::clock::Clock;
use otn_testkit::{PAGE, World, eventually, reason, violated_fields};

const TOPIC: &str = "back-in-stock:sl13";
const SHOP: &str = "https://shop.example/sl13";

fn topic_req() -> pb::GetFunnelRequest {
    pb::GetFunnelRequest {
        page_id: PAGE.into(),
        topic_key: TOPIC.into(),
        ..Default::default()
    }
}

async fn counts(app: &mut otn_testkit::TestApp, req: pb::GetFunnelRequest) -> pb::FunnelCounts {
    app.client
        .get_funnel(req)
        .await
        .unwrap()
        .into_inner()
        .counts
        .unwrap()
}

/// A free port on 127.0.0.1 (the tracked links must name the HTTP listener before it starts).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_tracked_link_redirects_only_where_the_send_said_and_counts_one_click() {
    let world = World::new().await;
    let port = free_port();
    let mut app = world
        .spawn_with(|c| {
            c.http_addr = format!("127.0.0.1:{port}").parse().unwrap();
            c.clicks.pages = vec![PAGE.into()];
            c.clicks.public_url = Some(format!("http://127.0.0.1:{port}"));
            c.clicks.secret = Some(otn_server::config::Secret::new("a-test-link-secret-1234"));
        })
        .await;
    app.opt_in_many(TOPIC, "c", 1).await;
    let n = app
        .client
        .send_notification(pb::SendNotificationRequest {
            request_id: "links-1".into(),
            page_id: PAGE.into(),
            topic_key: TOPIC.into(),
            content: Some(pb::Content {
                body: Some(pb::content::Body::ButtonTemplate(pb::ButtonTemplate {
                    text: "Back!".into(),
                    buttons: vec![
                        pb::Button {
                            title: "Later".into(),
                            action: Some(pb::button::Action::PostbackPayload("LATER".into())),
                        },
                        pb::Button {
                            title: "Buy".into(),
                            action: Some(pb::button::Action::WebUrl(SHOP.into())),
                        },
                    ],
                })),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .notification
        .unwrap();
    app.wait_final(&n.notification_id).await;
    let sent = app.sim().accepted_messages();
    let buttons = &sent[0].message["attachment"]["payload"]["buttons"];
    assert_eq!(buttons[0]["payload"], "LATER", "postbacks are left alone");
    let link = buttons[1]["url"].as_str().unwrap().to_string();
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{port}/l/")),
        "{link}"
    );
    let http = no_redirects();

    // Tampered links are 404, like links to nothing.
    let parts: Vec<&str> = link.rsplitn(4, '/').collect(); // sig, button, delivery, prefix
    let (sig, delivery, base) = (parts[0], parts[2], parts[3]);
    for bad in [
        format!("{base}/{delivery}/1/{}A", &sig[..sig.len() - 1]),
        format!("{base}/{delivery}/0/{sig}"),
        format!("{base}/{}/1/{sig}", delivery.parse::<i64>().unwrap() + 1),
        format!("{base}/{delivery}/1/not-a-signature"),
        format!("{base}/{delivery}/9/{sig}"),
    ] {
        let r = http.get(&bad).send().await.unwrap();
        assert_eq!(r.status(), 404, "{bad}");
    }
    // A HEAD (a link checker) is answered, not counted.
    let head = http.head(&link).send().await.unwrap();
    assert_eq!(head.status(), 302);
    assert_eq!(
        counts(&mut app, topic_req()).await.clicked,
        0,
        "a HEAD is no click"
    );
    for _ in 0..3 {
        let r = http.get(&link).send().await.unwrap();
        assert_eq!(r.status(), 302);
        assert_eq!(r.headers()["location"], SHOP);
        assert_eq!(r.headers()["cache-control"], "no-store");
    }
    let c = counts(&mut app, topic_req()).await;
    assert_eq!((c.clicked, c.engaged, c.sent), (1, 1, 1), "{c:?}");
    let events = app.events_of(&n.notification_id).await;
    let clicks = events
        .iter()
        .filter(|e| e.r#type == T::Clicked as i32)
        .count();
    assert_eq!(clicks, 1, "one CLICKED per delivery");

    // The export of the notification's deliveries, streamed, in three formats.
    let web = format!("http://{}", app.running.http_addr);
    let export = |format: &str| {
        let url = format!(
            "{web}/v1/console/notifications/{}/deliveries?format={format}",
            n.notification_id
        );
        let key = world.key.clone();
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    let csv = export("csv").await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("delivery_id,psid,path,state"), "{csv}");
    assert!(lines[1].contains(",c00000,GRANT,SENT,"), "{csv}");
    let json: serde_json::Value = serde_json::from_str(&export("json").await).unwrap();
    assert_eq!(json[0]["psid"], "c00000");
    assert!(json[0]["click_time"].is_string(), "{json}");
    assert!(json[0]["engage_time"].is_null(), "{json}");
    let ndjson = export("ndjson").await;
    assert_eq!(ndjson.lines().count(), 1);
    let unauthenticated = reqwest::get(format!(
        "{web}/v1/console/notifications/{}/deliveries",
        n.notification_id
    ))
    .await
    .unwrap();
    assert_eq!(unauthenticated.status(), 401);

    // The Prometheus counters, by page and step.
    let metrics = reqwest::get(format!("http://{}/metrics", app.running.admin_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let clicked = metrics
        .lines()
        .find(|l| {
            l.starts_with("otn_funnel_steps_total")
                && l.contains(&format!("page_id=\"{PAGE}\""))
                && l.contains("step=\"clicked\"")
        })
        .unwrap_or_else(|| panic!("no clicked counter in\n{metrics}"));
    assert!(clicked.ends_with(" 1"), "{clicked}");
    assert!(metrics.contains("otn_click_requests_total{outcome=\"not_found\"}"));
}

#[tokio::test]
async fn grants_expired_unused_and_revoked_are_counted_once() {
    let mut app = World::new().await.spawn().await;
    let now = app.clock.now_ms();
    for (psid, expires_in_ms) in [("soon", 3_600_000), ("later", 30 * 86_400_000i64)] {
        let token = app.sim().issue_otn_token(PAGE, psid);
        app.client
            .record_opt_in(pb::RecordOptInRequest {
                page_id: PAGE.into(),
                psid: psid.into(),
                topic_key: TOPIC.into(),
                token,
                expire_time: Some(prost_types::Timestamp {
                    seconds: (now + expires_in_ms) / 1000,
                    nanos: 0,
                }),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let token = app.sim().issue_otn_token(PAGE, "gone");
    let revoked = app.opt_in("gone", TOPIC, &token).await;
    app.client
        .revoke_grant(pb::RevokeGrantRequest {
            grant_id: revoked.grant_id,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        app.running.expire_grants().await.unwrap(),
        0,
        "none due yet"
    );
    app.clock.advance(chrono::Duration::hours(2));
    assert_eq!(app.running.expire_grants().await.unwrap(), 1);
    assert_eq!(app.running.expire_grants().await.unwrap(), 0, "once");
    let c = counts(&mut app, topic_req()).await;
    assert_eq!(
        (c.opt_ins, c.grants_expired, c.grants_revoked),
        (3, 1, 1),
        "{c:?}"
    );
    let listed = app.eligible(TOPIC).await;
    let who: Vec<&str> = listed
        .recipients
        .iter()
        .filter_map(|r| r.recipient.as_ref().map(|r| r.psid.as_str()))
        .collect();
    assert_eq!(who, ["later"]);
}

#[tokio::test]
async fn get_funnel_refuses_what_it_cannot_answer() {
    let world = World::new().await;
    let mut app = world.spawn().await;
    let bad = |r: pb::GetFunnelRequest| {
        let mut c = app.client.clone();
        async move { c.get_funnel(r).await.unwrap_err() }
    };
    let both = bad(pb::GetFunnelRequest {
        notification_id: "n".into(),
        ..topic_req()
    })
    .await;
    assert_eq!(both.code(), tonic::Code::InvalidArgument);
    let date = bad(pb::GetFunnelRequest {
        start_date: "2026-13-01".into(),
        ..topic_req()
    })
    .await;
    assert_eq!(violated_fields(&date), ["start_date"]);
    let long = bad(pb::GetFunnelRequest {
        start_date: "2025-01-01".into(),
        end_date: "2026-06-01".into(),
        ..topic_req()
    })
    .await;
    assert_eq!(long.code(), tonic::Code::InvalidArgument);
    let missing = bad(pb::GetFunnelRequest {
        notification_id: uuid::Uuid::now_v7().to_string(),
        ..Default::default()
    })
    .await;
    assert_eq!(reason(&missing), "NOTIFICATION_NOT_FOUND");
    let unknown_page = bad(pb::GetFunnelRequest {
        page_id: "nope".into(),
        ..topic_req()
    })
    .await;
    assert_eq!(reason(&unknown_page), "PAGE_NOT_FOUND");

    // A key of another page sees neither the topic nor the page's notifications.
    app.opt_in_many(TOPIC, "k", 1).await;
    let n = app.send("refuse-1", TOPIC, Default::default()).await;
    app.wait_final(&n.notification_id).await;
    let key = world.create_key("other", &["read"], &["other-page"]).await;
    let mut other = otn_testkit::connect(&app.url(), Some(&key)).await;
    let denied = other.get_funnel(topic_req()).await.unwrap_err();
    assert_eq!(reason(&denied), "PAGE_NOT_ALLOWED");
    let hidden = other
        .get_funnel(pb::GetFunnelRequest {
            notification_id: n.notification_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&hidden), "NOTIFICATION_NOT_FOUND");
    let seen = eventually("the send counted", Duration::from_secs(10), || {
        let mut c = app.client.clone();
        let id = n.notification_id.clone();
        async move {
            let f = c
                .get_funnel(pb::GetFunnelRequest {
                    notification_id: id,
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())?
                .into_inner();
            match f.counts.unwrap_or_default().sent {
                1 => Ok(f),
                n => Err(format!("sent {n}")),
            }
        }
    })
    .await;
    assert_eq!(seen.topic_key, TOPIC);
    assert_eq!(
        seen.start_date, seen.end_date,
        "a notification's life so far: one day"
    );
}
