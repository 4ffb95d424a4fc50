//! The code of sdk/examples/ (otn_sdk::examples), run against an in-process server.

use crate::support::{PAGE, Server};
use otn_sdk::examples::{back_in_stock, dashboard_tail, price_drop};
use otn_sdk::{Progress, proto as pb};

fn text(out: Vec<u8>) -> String {
    String::from_utf8(out).expect("utf-8")
}

#[tokio::test]
async fn back_in_stock_previews_sends_to_at_most_max_and_does_not_send_twice() {
    let server = Server::start().await;
    let client = server.client().await;
    for p in ["u1", "u2", "u3"] {
        server.opt_in(&client, p, "back-in-stock:sku-123").await;
    }

    let mut out = Vec::new();
    let done = back_in_stock::run(
        &server.url,
        Some(&server.app.world.key),
        PAGE,
        "sku-123",
        "evt-1",
        2,
        &mut out,
    )
    .await
    .unwrap();
    let out = text(out);
    assert_eq!(done.state(), pb::NotificationState::Completed, "{out}");
    assert_eq!(Progress::of(&done).sent, 2);
    assert!(
        out.contains("plan for sku-123: 2 by grant, 0 inside the window, 1 excluded"),
        "{out}"
    );
    assert!(out.contains("(replayed: false)"), "{out}");
    assert!(
        out.contains("NOTIFICATION_STATE_COMPLETED: sent 2"),
        "{out}"
    );
    let messages = server.sim().accepted_messages();
    assert_eq!(messages.len(), 2);

    // The same restock event handled again (a crash and a replay) sends nothing new.
    let mut out = Vec::new();
    let again = back_in_stock::run(
        &server.url,
        Some(&server.app.world.key),
        PAGE,
        "sku-123",
        "evt-1",
        2,
        &mut out,
    )
    .await
    .unwrap();
    assert!(text(out).contains("(replayed: true)"));
    assert_eq!(again.notification_id, done.notification_id);
    assert_eq!(server.sim().stats().accepted_total, 2);
}

#[tokio::test]
async fn price_drop_leaves_out_the_people_who_bought() {
    let server = Server::start().await;
    let client = server.client().await;
    for p in ["u1", "u2", "u3"] {
        server.opt_in(&client, p, "price-drop:sku-9").await;
    }
    client
        .update_recipient(pb::UpdateRecipientRequest {
            page_id: PAGE.into(),
            psid: "u2".into(),
            add_tags: vec!["bought-sku-9".into()],
            ..Default::default()
        })
        .await
        .unwrap();

    let mut out = Vec::new();
    let done = price_drop::run(
        &server.url,
        Some(&server.app.world.key),
        PAGE,
        "sku-9",
        "49 EUR",
        "39 EUR",
        &mut out,
    )
    .await
    .unwrap();
    let out = text(out);
    assert_eq!(done.state(), pb::NotificationState::Completed, "{out}");
    assert!(out.contains("for 2 people"), "{out}");
    let messages = server.sim().accepted_messages();
    let mut to: Vec<String> = messages.iter().map(|m| m.recipient_psid.clone()).collect();
    to.sort();
    assert_eq!(to, ["u1", "u3"], "{messages:?}");
    assert!(
        messages
            .iter()
            .all(|m| m.message.to_string().contains("39 EUR")),
        "{messages:?}"
    );
}

#[tokio::test]
async fn dashboard_tail_shows_the_events_after_its_position_and_says_where_to_resume() {
    let server = Server::start().await;
    let client = server.client().await;
    for i in 0..5 {
        server
            .opt_in(&client, &format!("u{i}"), "back-in-stock:sku-1")
            .await;
    }
    let mut out = Vec::new();
    let tail = dashboard_tail::run(
        &server.url,
        Some(&server.app.world.key),
        PAGE,
        2,
        Some(3),
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(tail.sequences, [3, 4, 5]);
    assert_eq!(tail.last_sequence, 5);
    let out = text(out);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("#3 OPT_IN_RECORDED page=test-page topic=back-in-stock:sku-1 psid=u2"),
        "{out}"
    );

    // The next run resumes where this one stopped.
    server.opt_in(&client, "u5", "back-in-stock:sku-1").await;
    let mut out = Vec::new();
    let next = dashboard_tail::run(
        &server.url,
        Some(&server.app.world.key),
        PAGE,
        tail.last_sequence,
        Some(1),
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(next.sequences, [6]);
}

#[tokio::test]
async fn on_a_fresh_sandbox_the_example_makes_its_own_shoppers_and_runs_twice() {
    use otn_sdk::examples::sandbox;
    let world = otn_testkit::World::new().await;
    let app = world.spawn_with(|c| world.sandbox(c)).await;
    let (grpc, http) = (app.url(), format!("http://{}", app.running.http_addr));
    let page = otn_server::app::SANDBOX_PAGE_ID;
    for run in ["first", "second"] {
        let mut out = Vec::new();
        let made = sandbox::opt_in_shoppers(
            &http,
            page,
            "back-in-stock:sku-7",
            &["ana", "ben"],
            &mut out,
        )
        .await
        .unwrap();
        assert!(made, "a sandbox");
        let done = back_in_stock::run(&grpc, None, page, "sku-7", run, 10, &mut out)
            .await
            .unwrap();
        let out = text(out);
        assert_eq!(Progress::of(&done).sent, 2, "{run} run: {out}");
    }
    let mut out = Vec::new();
    let nobody = sandbox::opt_in_shoppers("http://127.0.0.1:1", page, "t", &["x"], &mut out).await;
    assert!(matches!(nobody, Ok(false)), "no sandbox there: {nobody:?}");
    app.running.shutdown().await;
}
