//! `/v1/events` from a plain HTTP client: ids are sequences, `Last-Event-ID` resumes exactly
//! after the given one, callers without a valid key, session or the read scope are refused, and
//! a page-limited key sees only its pages.

use std::time::Duration;

use otn::v1 as pb;
use otn_testkit::{PAGE, World};

use super::{Next, SseReader, bearer, get, http, open_session, refusal, seq};

const EACH: Duration = Duration::from_secs(10);

#[tokio::test]
async fn sse_ids_are_sequences_and_last_event_id_resumes_exactly_after_it() {
    let world = World::new().await;
    let mut app = world.spawn().await;
    app.opt_in_many("topic-sse", "s", 6).await;
    let n = app
        .send("sse-1", "topic-sse", pb::SendOptions::default())
        .await;
    app.wait_final(&n.notification_id).await;
    let last = app.running.last_event_sequence().await.unwrap();
    assert!(last > 12, "opt-ins and a send make events ({last})");
    let url = format!("{}/v1/events", http(&app));
    let auth = bearer(&world.key);

    let mut all = SseReader::new(get(&url, &[("authorization", &auth)]).await);
    let events = all.until(last, EACH).await;
    let seqs: Vec<i64> = events.iter().map(seq).collect();
    assert_eq!(
        seqs,
        (1..=last).collect::<Vec<_>>(),
        "the whole log, in order"
    );
    for e in &events {
        assert_eq!(
            e.id.as_deref(),
            Some(seq(e).to_string().as_str()),
            "id: is the sequence"
        );
    }
    let sent = events
        .iter()
        .find(|e| e.data["type"] == "DELIVERY_EVENT_TYPE_SENT")
        .expect("a SENT event");
    assert_eq!(sent.data["notificationId"], n.notification_id.as_str());
    assert_eq!(sent.data["pageId"], PAGE);
    assert_eq!(sent.data["path"], "DELIVERY_PATH_GRANT");
    let time = sent.data["eventTime"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(time).expect("RFC 3339");

    let resume_at = last / 2;
    let id = resume_at.to_string();
    // The header wins over ?after= (it is what a reconnecting browser sends).
    let resumed_url = format!("{url}?after=1");
    let headers = [
        ("authorization", auth.as_str()),
        ("last-event-id", id.as_str()),
    ];
    let mut resumed = SseReader::new(get(&resumed_url, &headers).await);
    let rest: Vec<i64> = resumed.until(last, EACH).await.iter().map(seq).collect();
    assert_eq!(rest, ((resume_at + 1)..=last).collect::<Vec<_>>());
    let by_query = format!("{url}?after={id}");
    let mut q = SseReader::new(get(&by_query, &[("authorization", &auth)]).await);
    assert_eq!(seq(&q.next(EACH).await.unwrap()), resume_at + 1);

    // Live: what comes next reaches the open streams, nothing missed or repeated.
    app.opt_in_many("topic-sse-2", "t", 3).await;
    let n2 = app
        .send("sse-2", "topic-sse-2", pb::SendOptions::default())
        .await;
    app.wait_final(&n2.notification_id).await;
    let head = app.running.last_event_sequence().await.unwrap();
    let live: Vec<i64> = resumed.until(head, EACH).await.iter().map(seq).collect();
    assert_eq!(live, ((last + 1)..=head).collect::<Vec<_>>());
    let bad = get(&url, &[("authorization", &auth), ("last-event-id", "x")]).await;
    assert_eq!(refusal(bad).await, (400, "INVALID_FIELD".to_string()));
}

#[tokio::test]
async fn sse_resumes_after_a_restart_with_no_gap_and_no_repeat() {
    let world = World::new().await;
    let app = world.spawn().await;
    app.opt_in_many("topic-r", "r", 4).await;
    let before = app.running.last_event_sequence().await.unwrap();
    let url = format!("{}/v1/events", http(&app));
    let auth = bearer(&world.key);
    let mut s = SseReader::new(get(&url, &[("authorization", &auth)]).await);
    let mut seen = s.until(before, EACH).await;
    let addr = app.running.http_addr;
    app.running.shutdown().await;
    let mut said = None;
    loop {
        match s.read(EACH).await {
            Next::Event(e) => seen.push(e),
            Next::Error(e) => said = Some(e),
            Next::End => break,
            Next::Quiet => panic!("the stream did not end with the server"),
        }
    }
    // The last event says why, and the body then ends cleanly (no aborted chunk).
    let said = said.expect("an `event: error` before the end");
    assert_eq!(said["reason"], "SHUTTING_DOWN", "{said}");
    let before = seq(seen.last().unwrap());

    let mut app = world.spawn_with(|c| c.http_addr = addr).await;
    let n = app
        .send("after", "topic-r", pb::SendOptions::default())
        .await;
    app.wait_final(&n.notification_id).await;
    let head = app.running.last_event_sequence().await.unwrap();
    let last_id = seen.last().unwrap().id.clone().unwrap();
    let headers = [
        ("authorization", auth.as_str()),
        ("last-event-id", last_id.as_str()),
    ];
    let mut again = SseReader::new(get(&url, &headers).await);
    let rest: Vec<i64> = again.until(head, EACH).await.iter().map(seq).collect();
    assert_eq!(rest, ((before + 1)..=head).collect::<Vec<_>>());
}

#[tokio::test]
async fn sse_is_refused_without_a_valid_key_or_session_and_without_the_read_scope() {
    let world = World::new().await;
    let app = world.spawn_with(|c| c.api_key_cache_ms = 0).await;
    let url = format!("{}/v1/events", http(&app));
    assert_eq!(
        refusal(get(&url, &[]).await).await,
        (401, "API_KEY_MISSING".into())
    );
    let wrong = bearer(&format!("otn_0123456789ab_{}", "0".repeat(64)));
    assert_eq!(
        refusal(get(&url, &[("authorization", &wrong)]).await).await,
        (401, "API_KEY_INVALID".into())
    );
    let forged = format!("otn_session=0123456789ab.99999999999999.{}", "a".repeat(64));
    assert_eq!(
        refusal(get(&url, &[("cookie", &forged)]).await).await,
        (401, "API_KEY_INVALID".into())
    );
    let sender = world.create_key("only-send", &["send"], &[]).await;
    let resp = get(&url, &[("authorization", &bearer(&sender))]).await;
    assert_eq!(refusal(resp).await, (403, "SCOPE_MISSING".into()));
    let (_, cookie) = open_session(&app, &sender).await;
    let resp = get(&url, &[("cookie", &cookie)]).await;
    assert_eq!(
        refusal(resp).await,
        (403, "SCOPE_MISSING".into()),
        "sessions keep scopes"
    );

    let reader = world.create_key("dashboard", &["read"], &[]).await;
    let (set_cookie, cookie) = open_session(&app, &reader).await;
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain HTTP on loopback: {set_cookie}"
    );
    assert!(!cookie.contains(&reader), "the cookie is not the key");
    SseReader::new(get(&url, &[("cookie", &cookie)]).await);
    otn_server::admin::revoke_api_key(&world.database_url, "dashboard")
        .await
        .unwrap();
    let resp = get(&url, &[("cookie", &cookie)]).await;
    assert_eq!(
        refusal(resp).await,
        (401, "API_KEY_INVALID".into()),
        "revoked"
    );
}

#[tokio::test]
async fn sse_of_a_page_limited_key_carries_only_its_pages() {
    let world = World::new().await;
    let other = otn_server::config::PageConfig {
        page_id: "page-b".into(),
        ..world.page.clone()
    };
    let mut app = world.spawn_with(|c| c.pages.push(other)).await;
    for (page, psid) in [
        (PAGE, "a1"),
        ("page-b", "b1"),
        (PAGE, "a2"),
        ("page-b", "b2"),
    ] {
        app.client
            .record_opt_in(pb::RecordOptInRequest {
                page_id: page.into(),
                psid: psid.into(),
                topic_key: "topic-p".into(),
                token: format!("tok-{page}-{psid}"),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let key = world.create_key("b-reader", &["read"], &["page-b"]).await;
    let head = app.running.last_event_sequence().await.unwrap();
    let url = format!("{}/v1/events", http(&app));
    let auth = bearer(&key);
    let mut s = SseReader::new(get(&url, &[("authorization", &auth)]).await);
    let mut pages = Vec::new();
    while let Some(e) = s.next(Duration::from_millis(1_500)).await {
        pages.push(e.data["pageId"].as_str().unwrap().to_string());
        assert!(seq(&e) <= head, "nothing after the head");
    }
    assert_eq!(pages, ["page-b", "page-b"]);
    let asked = format!("{url}?page_id={PAGE}");
    let resp = get(&asked, &[("authorization", &auth)]).await;
    assert_eq!(refusal(resp).await, (403, "PAGE_NOT_ALLOWED".into()));
    let bad = format!("{url}?topic_key=bad%20topic");
    let resp = get(&bad, &[("authorization", &auth)]).await;
    assert_eq!(refusal(resp).await, (400, "INVALID_FIELD".into()));
}
