//! The books agree with Meta (issue 23): one test per row of the issue's table, each against a
//! stand-in Meta that counts what it accepted per token and refuses a spent one-time token as
//! Meta words token refusals (`(#100) The one_time_notif_token has already been used`, no
//! subcode). In every run, otn's SENT set is the set Meta accepted and no accepted message is
//! FAILED. (The SIGKILL row is `server/tests/processes/replicas.rs`.) Also the refusals the
//! rows turn on: another code-100 refusal after a timeout is UNCONFIRMED, not read as sent;
//! Meta's wording of an invalid marketing token kills its grant.

use std::time::Duration;

use otn::v1::{self as pb, DeliveryEventType as T, ExclusionReason};
use otn_simulator::Fault;
use otn_testkit::meta::excluded;
use otn_testkit::{PAGE, TestApp, World};

fn of_type(events: &[pb::DeliveryEvent], t: T) -> Vec<&pb::DeliveryEvent> {
    events.iter().filter(|e| e.r#type == t as i32).collect()
}

const TOPIC: &str = "back-in-stock:sku-23";

/// Sends to `n` grant holders while Meta accepts every message and then answers with `fault`:
/// every message is SENT, every grant CONSUMED, nothing FAILED.
async fn accepted_then(fault: Fault, n: usize) -> TestApp {
    let mut app = World::new().await.spawn().await;
    let tokens = app.opt_in_many(TOPIC, "a", n).await;
    app.sim().inject(vec![fault; n]);
    let sent = app.send("row", TOPIC, pb::SendOptions::default()).await;
    let books = app.assert_books_agree(&sent.notification_id).await;
    assert_eq!(books.sent.len(), n, "{books:?}");
    assert!(books.failed.is_empty() && books.unconfirmed.is_empty());
    let stats = app.sim().stats();
    for t in &tokens {
        assert_eq!(stats.per_token.get(t), Some(&1), "{t} accepted once");
    }
    let l = app.eligible(TOPIC).await;
    assert_eq!(l.total_size, 0, "nobody is eligible again");
    assert_eq!(excluded(&l, ExclusionReason::Consumed), n as i64);
    app
}

#[tokio::test]
async fn accepted_then_http_500_code_2_is_transient_books_every_message_sent() {
    accepted_then(Fault::AcceptThenServerError, 60).await;
}

#[tokio::test]
async fn accepted_then_http_502_with_an_html_body_books_every_message_sent() {
    accepted_then(Fault::AcceptThenBadGateway, 60).await;
}

#[tokio::test]
async fn accepted_then_http_500_code_1_books_every_message_sent() {
    accepted_then(Fault::AcceptThenServerErrorCode(1), 60).await;
}

#[tokio::test]
async fn two_thousand_grants_under_5xx_timeouts_and_accept_then_fail_book_what_meta_accepted() {
    let world = World::new().await;
    // A timeout is an answer later than 300 ms; the stalls last 600 ms.
    let mut app = world.spawn_with(|c| c.graph_timeout_ms = 300).await;
    app.opt_in_many(TOPIC, "m", 2_000).await;
    let stall = Duration::from_millis(600);
    let rates = [
        (Fault::ServerError, 100),
        (Fault::Timeout(stall), 50),
        (Fault::AcceptThenServerError, 20),
        (Fault::AcceptThenTimeout(stall), 15),
        (Fault::AcceptThenDrop, 15),
    ];
    for (fault, per_mille) in rates {
        app.sim().set_fault_rate(fault, per_mille);
    }
    let n = app.send("mixed", TOPIC, pb::SendOptions::default()).await;
    let books = app.assert_books_agree(&n.notification_id).await;
    app.sim().clear_faults();
    eprintln!(
        "2,000 grants: Meta accepted {}, otn SENT {}, FAILED {}, UNCONFIRMED {}",
        app.accepted_psids().len(),
        books.sent.len(),
        books.failed.len(),
        books.unconfirmed.len()
    );
    assert!(books.failed.is_empty(), "{:?}", books.failed);
    assert!(
        books.sent.len() >= 1_990,
        "{} sent, {} unconfirmed",
        books.sent.len(),
        books.unconfirmed.len()
    );
    let elsewhere: Vec<_> = books
        .last
        .iter()
        .filter(|(p, _)| !books.sent.contains(*p) && !books.unconfirmed.contains(*p))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "neither sent nor unconfirmed: {elsewhere:?}"
    );
    assert_eq!(books.last.len(), 2_000, "people in the books");
}

#[tokio::test]
async fn a_soak_of_many_sends_with_500s_and_timeouts_books_every_accepted_message_and_its_receipts()
{
    let world = World::new().await;
    let mut app = world.spawn_with(|c| c.graph_timeout_ms = 300).await;
    let stall = Duration::from_millis(600);
    app.sim().set_auto_receipts(true, true);
    app.sim().set_fault_rate(Fault::AcceptThenServerError, 20);
    app.sim()
        .set_fault_rate(Fault::AcceptThenTimeout(stall), 10);
    for i in 0..12 {
        let topic = format!("{TOPIC}-{i}");
        app.opt_in_many(&topic, &format!("s{i:02}-"), 50).await;
        let n = app
            .send(&format!("soak-{i}"), &topic, pb::SendOptions::default())
            .await;
        let books = app.assert_books_agree(&n.notification_id).await;
        assert!(books.failed.is_empty(), "{i}: {:?}", books.failed);
        // Every receipt of an accepted message reached it: Meta's delivery and read receipts
        // came while its delivery was still being retried, and were kept.
        let id = n.notification_id.clone();
        let read = books.sent.len() as i64;
        app.wait_counts(&id, |c| c.read == read).await;
    }
    app.sim().clear_faults();
}

#[tokio::test]
async fn a_refusal_other_than_the_tokens_after_a_timeout_is_unconfirmed_not_failed() {
    let world = World::new().await;
    let mut app = world.spawn_with(|c| c.graph_timeout_ms = 1_500).await;
    app.opt_in_many(TOPIC, "t", 1).await;
    app.sim().inject(vec![
        // Nothing reaches Meta, but otn cannot know that.
        Fault::Timeout(Duration::from_secs(3)),
        Fault::Refused {
            code: 100,
            subcode: Some(2018001),
            message: "(#100) No matching user found".into(),
        },
    ]);
    let n = app.send("timeout", TOPIC, pb::SendOptions::default()).await;
    let books = app.assert_books_agree(&n.notification_id).await;
    assert_eq!(books.unconfirmed.len(), 1, "{books:?}");
    let events = app.events_of(&n.notification_id).await;
    let f = of_type(&events, T::Unconfirmed)[0].failure.clone().unwrap();
    assert_eq!(
        (f.reason.as_str(), f.code, f.subcode),
        ("INVALID_PARAMETER", 100, 2018001)
    );
    let l = app.eligible(TOPIC).await;
    assert_eq!(l.total_size, 0, "the grant stays spent");
}

#[tokio::test]
async fn an_invalid_marketing_token_fails_and_its_grant_is_never_tried_again() {
    let mut app = World::new().await.spawn().await;
    let token = app.sim().issue_marketing_token(PAGE, "mk1");
    app.client
        .record_opt_in(pb::RecordOptInRequest {
            page_id: PAGE.into(),
            psid: "mk1".into(),
            topic_key: TOPIC.into(),
            kind: pb::GrantKind::MarketingMessages as i32,
            token,
            ..Default::default()
        })
        .await
        .unwrap();
    app.client
        .update_recipient(pb::UpdateRecipientRequest {
            page_id: PAGE.into(),
            psid: "mk1".into(),
            region: Some("FR".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    // `(#100) notification_messages_token is invalid`, as Meta's 2026 table words it.
    app.sim().inject(vec![Fault::TokenInvalid]);
    let n = app
        .send("marketing", TOPIC, pb::SendOptions::default())
        .await;
    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(done.counts.unwrap().failed, 1);
    let events = app.events_of(&n.notification_id).await;
    let f = of_type(&events, T::Failed)[0].failure.clone().unwrap();
    assert!(
        f.message
            .ends_with("(#100) notification_messages_token is invalid"),
        "{f:?}"
    );
    assert_eq!(
        (f.reason.as_str(), f.code, f.subcode),
        ("TOKEN_REFUSED", 100, 0)
    );
    let l = app.eligible(TOPIC).await;
    assert_eq!(l.total_size, 0);
    assert_eq!(
        excluded(&l, ExclusionReason::Invalid),
        1,
        "INVALID, not ACTIVE"
    );
}
