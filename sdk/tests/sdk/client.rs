//! The SDK against a real in-process server: builders, typed errors, request ids kept across retries, RetryInfo.

use std::time::{Duration, Instant};

use crate::support::{PAGE, Server};
use otn_sdk::tonic::Code;
use otn_sdk::{Button, Client, ErrorReason, RetryPolicy, proto as pb};
use otn_simulator::Fault;

#[tokio::test]
async fn back_in_stock_plans_sends_and_follows_to_completion() {
    let server = Server::start().await;
    let client = Client::builder(&server.url)
        .api_key(server.app.world.key.clone())
        .connect()
        .await
        .unwrap();
    for p in ["u1", "u2", "u3"] {
        server.opt_in(&client, p, "back-in-stock:sku-123").await;
    }
    server.opt_in(&client, "u9", "back-in-stock:other").await;

    let plan = client
        .back_in_stock(PAGE, "sku-123")
        .max_recipients(2)
        .text("Back in stock!")
        .dry_run()
        .send()
        .await
        .unwrap()
        .notification
        .unwrap();
    assert_eq!(plan.state(), pb::NotificationState::Planned);
    let p = plan.plan.unwrap();
    assert_eq!(p.grant_sends, 2);
    let capped = p
        .exclusions
        .iter()
        .find(|e| e.reason() == pb::ExclusionReason::MaxRecipients)
        .map(|e| e.count);
    assert_eq!(capped, Some(1));

    let sent = client
        .back_in_stock(PAGE, "sku-123")
        .button_template(
            "Back in stock!",
            [
                Button::url("Buy now", "https://shop.example/sku-123"),
                Button::postback("Not now", "NOT_NOW"),
            ],
        )
        .send()
        .await
        .unwrap();
    let n = sent.notification.unwrap();
    assert!(!sent.replayed);
    let done = client
        .wait_final(&n.notification_id, Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(done.state(), pb::NotificationState::Completed);
    assert_eq!(otn_sdk::Progress::of(&done).sent, 3);
    assert_eq!(server.sim().stats().accepted_total, 3);
}

#[tokio::test]
async fn the_same_request_id_is_a_replay_and_a_changed_body_is_refused() {
    let server = Server::start().await;
    let client = server.client().await;
    server.opt_in(&client, "u1", "price-drop:sku-9").await;
    let send = |text: &str| {
        client
            .price_drop(PAGE, "sku-9")
            .text(text)
            .request_id("drop-sku-9-1")
            .send()
    };
    let first = send("Cheaper now").await.unwrap();
    let again = send("Cheaper now").await.unwrap();
    assert!(again.replayed);
    assert_eq!(
        first.notification.unwrap().notification_id,
        again.notification.unwrap().notification_id
    );
    let e = send("Even cheaper").await.unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    assert_eq!(e.reason(), Some(ErrorReason::RequestIdReused));
}

#[tokio::test]
async fn server_refusals_are_typed() {
    let server = Server::start().await;
    let client = server.client().await;

    let e = client
        .get_notification("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert_eq!(e.reason(), Some(ErrorReason::NotificationNotFound));
    assert!(!e.is_local() && !e.is_transport());

    let e = client
        .list_eligible(pb::ListEligibleRequest {
            page_id: "has space".into(),
            topic_key: "bad topic".into(),
            page_size: 5000,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.reason(), Some(ErrorReason::InvalidField));
    let fields: Vec<_> = e
        .field_violations()
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["page_id", "topic_key", "page_size"]);

    let e = client
        .request_opt_in(
            PAGE,
            "never-talked",
            "back-in-stock:sku-1",
            "Back in stock?",
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(e.reason(), Some(ErrorReason::OutsideWindow));
    assert_eq!(
        e.metadata().get("rule").map(String::as_str),
        Some("window.24h")
    );
}

#[tokio::test]
async fn local_validation_sends_nothing() {
    let server = Server::start().await;
    let client = server.client().await;
    server.opt_in(&client, "u1", "back-in-stock:sku-1").await;
    let e = client
        .back_in_stock(PAGE, "sku-1")
        .text("x".repeat(2001))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_local());
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.field_violations()[0].field, "content.text");
    let list = client
        .list_eligible(pb::ListEligibleRequest {
            page_id: PAGE.into(),
            topic_key: "back-in-stock:sku-1".into(),
            include_total_size: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(list.total_size, 1, "the grant was not spent");
}

#[tokio::test]
async fn an_ambiguous_opt_in_request_is_retried_with_the_same_request_id_after_retry_info() {
    let server = Server::start().await;
    let client = server.client().await;
    server.interact(&client, "u1").await;
    // Meta accepts the request, then the connection drops: the server cannot know and
    // answers UNAVAILABLE with RetryInfo (1 s). The SDK waits that long and sends the same
    // request id again; a new id would be refused as a repeat of the same title.
    server.sim().inject(vec![Fault::AcceptThenDrop]);
    let started = Instant::now();
    let resp = client
        .request_opt_in(PAGE, "u1", "back-in-stock:sku-1", "Back in stock?")
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "RetryInfo honoured"
    );
    assert!(resp.opt_in_request.is_some());
    assert_eq!(server.sim().queued_faults(), 0);
    assert_eq!(server.sim().opt_in_requests_sent(PAGE, "u1").len(), 1);
}

#[tokio::test]
async fn without_retries_the_unavailable_error_carries_reason_and_delay() {
    let server = Server::start().await;
    let client = Client::builder(&server.url)
        .api_key(server.app.world.key.clone())
        .retry(RetryPolicy::none())
        .connect()
        .await
        .unwrap();
    server.interact(&client, "u1").await;
    server.sim().inject(vec![Fault::ServerError]);
    let e = client
        .request_opt_in(PAGE, "u1", "back-in-stock:sku-1", "Back in stock?")
        .request_id("opt-in-u1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
    assert_eq!(e.reason(), Some(ErrorReason::GraphApiUnavailable));
    assert_eq!(e.retry_delay(), Some(Duration::from_secs(1)));
    assert!(!e.is_transport(), "the service answered");
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error() {
    let server = Server::start().await;
    let (_world, addr) = server.stop().await;
    let e = Client::builder(format!("http://{addr}"))
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap_err();
    assert!(e.is_transport());
    assert_eq!(e.code(), Code::Unavailable);

    let lazy = Client::builder(format!("http://{addr}"))
        .retry(crate::support::quick_retries())
        .connect_lazy()
        .unwrap();
    let e = lazy.get_notification("0190").await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
}
