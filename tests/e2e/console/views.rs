//! The console's JSON endpoints: what they show is what the service holds (notifications with
//! their plan and counts, failures with Meta's codes, topics with eligible counts, pages with
//! rate, pause and recent 613s, sends per second), and cancelling needs the send scope.

use otn::v1 as pb;
use otn_simulator::Fault;
use otn_testkit::{PAGE, World};
use serde_json::Value;

use super::{bearer, get, http, open_session, open_session_with_csrf, refusal};

async fn json(url: &str, headers: &[(&str, &str)]) -> Value {
    let resp = get(url, headers).await;
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn console_views_show_notifications_failures_topics_pages_and_sends() {
    let world = World::new().await;
    let mut app = world.spawn().await;
    app.opt_in_many("back-in-stock:sku-9", "v", 5).await;
    app.opt_in_many("price-drop:sku-2", "w", 2).await;
    app.sim().inject(vec![
        Fault::RateLimitedWith {
            code: 613,
            regain_minutes: 0,
        },
        Fault::Blocked,
    ]);
    let n = app
        .send("views", "back-in-stock:sku-9", pb::SendOptions::default())
        .await;
    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(done.counts.as_ref().unwrap().sent, 4, "{done:?}");
    let (_, cookie) = open_session(&app, &world.key).await;
    let h = [("cookie", cookie.as_str())];
    let base = format!("{}/v1/console", http(&app));

    let head = app.running.last_event_sequence().await.unwrap();
    let o = json(&format!("{base}/overview"), &h).await;
    assert_eq!(o["caller"]["actor"], "tests");
    assert_eq!(o["pages"], serde_json::json!([PAGE]));
    assert_eq!(o["sandbox"], false);
    assert_eq!(o["lastSequence"], head.to_string());

    let list = json(&format!("{base}/notifications"), &h).await;
    let first = &list["notifications"][0];
    assert_eq!(first["notificationId"], n.notification_id.as_str());
    assert_eq!(first["state"], "NOTIFICATION_STATE_COMPLETED");
    assert_eq!(first["counts"]["sent"], "4");
    assert_eq!(first["counts"]["failed"], "1");
    assert_eq!(first["plan"]["grantSends"], "5");

    let detail = json(&format!("{base}/notifications/{}", n.notification_id), &h).await;
    let failures = detail["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{detail}");
    assert_eq!(failures[0]["code"], 10);
    assert_eq!(failures[0]["subcode"], 2018108);
    assert_eq!(failures[0]["count"], "1");

    let topics = json(&format!("{base}/topics?page_id={PAGE}"), &h).await;
    let eligible: Vec<(String, String)> = topics["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["topicKey"].as_str().unwrap().into(),
                t["eligible"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        eligible,
        [
            ("back-in-stock:sku-9".to_string(), "1".to_string()),
            ("price-drop:sku-2".to_string(), "2".to_string())
        ],
        "the blocked person's grant was given back"
    );

    let pages = json(&format!("{base}/pages"), &h).await;
    let page = &pages["pages"][0];
    assert_eq!(page["pageId"], PAGE);
    assert_eq!(page["rateLimitPerSec"], 1000);
    assert_eq!(page["recentRateLimited"], 1, "{page}");

    let sends = json(&format!("{base}/sends?minutes=5"), &h).await;
    let total: i64 = sends["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["count"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 4);
    assert_eq!(sends["throughSequence"], head.to_string());

    let missing = format!("{base}/notifications/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    assert_eq!(
        refusal(get(&missing, &h).await).await,
        (404, "NOTIFICATION_NOT_FOUND".into())
    );
    assert_eq!(
        refusal(get(&format!("{base}/pages"), &[]).await).await.0,
        401
    );
}

#[tokio::test]
async fn cancelling_from_the_console_needs_the_send_scope() {
    let world = World::new().await;
    let mut app = world.spawn().await;
    app.opt_in_many("topic-c", "c", 3).await;
    let later = prost_types::Timestamp {
        seconds: chrono::Utc::now().timestamp() + 3600,
        nanos: 0,
    };
    let options = pb::SendOptions {
        scheduled_time: Some(later),
        ..Default::default()
    };
    let n = app.send("later", "topic-c", options).await;
    assert_eq!(n.state, pb::NotificationState::Scheduled as i32);
    let url = format!(
        "{}/v1/console/notifications/{}/cancel",
        http(&app),
        n.notification_id
    );
    let reader = world.create_key("viewer", &["read"], &[]).await;
    let (_, read_only, read_csrf) = open_session_with_csrf(&app, &reader).await;
    let host = app.running.http_addr.to_string();
    let post = |cookie: String, csrf: Option<String>, origin: Option<String>| {
        let url = url.clone();
        async move {
            let mut r = otn_testkit::meta::http().post(url).header("cookie", cookie);
            if let Some(t) = csrf {
                r = r.header("x-csrf-token", t);
            }
            if let Some(o) = origin {
                r = r.header("origin", o);
            }
            r.send().await.unwrap()
        }
    };
    let ours = Some(format!("http://{host}"));
    assert_eq!(
        refusal(post(read_only, Some(read_csrf), ours.clone()).await).await,
        (403, "SCOPE_MISSING".into())
    );
    let (_, full, csrf) = open_session_with_csrf(&app, &world.key).await;
    // A cookie alone (what a page elsewhere can make a browser send) changes nothing.
    assert_eq!(
        refusal(post(full.clone(), None, ours.clone()).await).await,
        (403, "CSRF_REJECTED".into())
    );
    assert_eq!(
        refusal(post(full.clone(), Some("0".repeat(64)), ours.clone()).await).await,
        (403, "CSRF_REJECTED".into())
    );
    assert_eq!(
        refusal(
            post(
                full.clone(),
                Some(csrf.clone()),
                Some("https://evil.example".into())
            )
            .await
        )
        .await,
        (403, "CSRF_REJECTED".into())
    );
    let post_ok = || post(full.clone(), Some(csrf.clone()), ours.clone());
    let resp = post_ok().await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["notification"]["state"],
        "NOTIFICATION_STATE_CANCELLED"
    );
    assert_eq!(body["cancelledDeliveries"], "3");
    assert_eq!(
        refusal(post_ok().await).await,
        (400, "NOTIFICATION_FINAL".into())
    );
    let key_header = bearer(&world.key);
    let again = get(
        &format!(
            "{}/v1/console/notifications/{}",
            http(&app),
            n.notification_id
        ),
        &[("authorization", &key_header)],
    )
    .await;
    assert_eq!(
        again.status(),
        200,
        "a bearer key works as well as a session"
    );
}
