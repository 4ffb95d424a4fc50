//! The whole consent funnel played in the sandbox (issue 22): opt-in requests, opt-ins (asked
//! for and not), a button template sent, reads (no delivery receipts: a read counts as
//! delivered), a reply, a postback, a click through the signed redirect link; every count and
//! rate checked through GetFunnel (topic and notification) and `otnctl topics funnel`; then
//! ForgetRecipient and retention leave the counts as they were.

use std::process::Output;
use std::time::Duration;

use otn_sdk::{Client, proto as pb};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_otnctl");
const PAGE: &str = "sandbox-page";
const TOPIC: &str = "back-in-stock:sl13";
const SHOP: &str = "https://shop.example/sl13?utm=otn";

async fn otnctl(args: &[&str]) -> Value {
    let o: Output = tokio::process::Command::new(BIN)
        .args(args)
        .env_remove("OTN_URL")
        .env_remove("OTN_API_KEY")
        .kill_on_drop(true)
        .output()
        .await
        .expect("run otnctl");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "otnctl {args:?}: {}\n{out}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(out.trim()).expect("JSON")
}

async fn funnel(client: &Client, req: pb::GetFunnelRequest) -> pb::GetFunnelResponse {
    client.get_funnel(req).await.expect("GetFunnel")
}

fn topic_req() -> pb::GetFunnelRequest {
    pb::GetFunnelRequest {
        page_id: PAGE.into(),
        topic_key: TOPIC.into(),
        ..Default::default()
    }
}

/// Waits until the topic's funnel satisfies `ok`.
async fn funnel_until(
    client: &Client,
    what: &str,
    ok: impl Fn(&pb::FunnelCounts) -> bool,
) -> pb::GetFunnelResponse {
    otn_testkit::eventually(what, Duration::from_secs(20), || async {
        let f = funnel(client, topic_req()).await;
        match ok(f.counts.as_ref().expect("counts")) {
            true => Ok(f),
            false => Err(format!("{:?}", f.counts)),
        }
    })
    .await
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_funnel_in_the_sandbox_counts_every_step_and_rate() {
    let world = otn_testkit::World::new().await;
    let app = world
        .spawn_with(|c| {
            world.sandbox(c);
            c.retention.interval_secs = 1;
        })
        .await;
    let sim = app
        .running
        .sandbox()
        .expect("the sandbox's simulator")
        .clone();
    let grpc = app.url();
    let client = Client::connect(grpc.clone()).await.expect("connect");

    // Four people write; three are asked to opt in and do, and one never asked opts in too.
    for who in ["alice", "bob", "carol", "dave"] {
        sim.user_sends_message(PAGE, who, "Is the SL13 coming back?")
            .await
            .unwrap();
    }
    let mut asked = Vec::new();
    for who in ["alice", "bob", "carol"] {
        let r = client
            .request_opt_in(PAGE, who, TOPIC, "SL13 back in stock")
            .send()
            .await
            .expect("RequestOptIn");
        asked.push(r.opt_in_request.unwrap().opt_in_request_id);
    }
    for (who, id) in ["alice", "bob", "carol"].into_iter().zip(&asked) {
        sim.user_taps_notify_me(PAGE, who, &format!("otn1:{id}"))
            .await
            .unwrap();
    }
    sim.user_taps_notify_me(PAGE, "dave", TOPIC).await.unwrap();
    funnel_until(&client, "four opt-ins", |c| c.opt_ins == 4).await;

    // One button template to everyone who opted in: a link and a postback.
    let sent = client
        .notify(PAGE, TOPIC)
        .request_id("funnel-1")
        .button_template(
            "The SL13 is back!",
            [
                otn_sdk::Button::url("Buy now", SHOP),
                otn_sdk::Button::postback("Not now", "LATER"),
            ],
        )
        .send()
        .await
        .expect("send");
    let id = sent.notification.unwrap().notification_id;
    client
        .wait_final(&id, Duration::from_millis(50))
        .await
        .expect("completed");

    // Reads (no delivery receipts came: each read counts as delivered too), a reply, a click
    // through the tracked link (twice: counted once), a postback, a reply after the click.
    for who in ["alice", "bob", "carol"] {
        sim.user_reads(PAGE, who).await.unwrap();
    }
    sim.user_sends_message(PAGE, "alice", "I'll take it!")
        .await
        .unwrap();
    for _ in 0..2 {
        let tap = sim.user_taps_button(PAGE, "bob", 0).await.unwrap();
        assert_eq!(tap["kind"], "web_url");
        assert_eq!(tap["status"], 302, "{tap}");
        assert_eq!(tap["location"], SHOP, "only the URL the send named");
        let link = tap["url"].as_str().unwrap();
        assert!(
            link.starts_with(&format!("http://{}/l/", app.running.http_addr)),
            "the link goes through otn: {link}"
        );
    }
    sim.user_sends_message(PAGE, "bob", "Bought it")
        .await
        .unwrap();
    let tap = sim.user_taps_button(PAGE, "carol", 1).await.unwrap();
    assert_eq!(tap["kind"], "postback");

    let f = funnel_until(&client, "every step counted", |c| {
        c.clicked == 1 && c.engaged_postback == 1 && c.engaged_message == 2 && c.read == 3
    })
    .await;
    let c = f.counts.unwrap();
    let want = pb::FunnelCounts {
        opt_in_requests: 3,
        opt_ins: 4,
        grants_used: 4,
        sent: 4,
        delivered: 3,
        read: 3,
        engaged: 3,
        engaged_message: 2,
        engaged_postback: 1,
        clicked: 1,
        queued: 4,
        ..Default::default()
    };
    assert_eq!(c, want);
    let r = f.rates.unwrap();
    assert!(close(r.opt_in_rate, 4.0 / 3.0), "{r:?}");
    assert!(close(r.use_rate, 1.0), "{r:?}");
    assert!(close(r.send_rate, 1.0), "{r:?}");
    assert!(close(r.delivery_rate, 0.75), "{r:?}");
    assert!(close(r.read_rate, 1.0), "{r:?}");
    assert!(close(r.engagement_rate, 1.0), "{r:?}");
    assert!(close(r.click_rate, 1.0 / 3.0), "{r:?}");
    assert_eq!(f.days.len(), 30, "the last 30 days by default");
    let summed: i64 = f.days.iter().map(|d| d.counts.unwrap().sent).sum();
    assert_eq!(summed, 4, "the days add up to the total");
    assert_eq!(f.days.last().unwrap().date, f.end_date);

    // The notification's own funnel: from the send on (no requests, no opt-ins).
    let n = funnel(
        &client,
        pb::GetFunnelRequest {
            notification_id: id.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!((n.page_id.as_str(), n.topic_key.as_str()), (PAGE, TOPIC));
    assert_eq!(
        n.counts.unwrap(),
        pb::FunnelCounts {
            opt_in_requests: 0,
            opt_ins: 0,
            ..want
        }
    );

    // otnctl prints the same counts and rates.
    let args = ["--url", &grpc, "--output", "json", "topics", "funnel"];
    let v = otnctl(&[&args[..], &["--page", PAGE, "--topic", TOPIC]].concat()).await;
    let vc = &v["counts"];
    for (k, n) in [
        ("opt_in_requests", 3),
        ("opt_ins", 4),
        ("grants_used", 4),
        ("sent", 4),
        ("delivered", 3),
        ("read", 3),
        ("engaged", 3),
        ("engaged_message", 2),
        ("engaged_postback", 1),
        ("clicked", 1),
    ] {
        assert_eq!(vc[k], n, "otnctl {k}: {v}");
    }
    assert!(close(
        v["rates"]["opt_in_rate"].as_f64().unwrap(),
        4.0 / 3.0
    ));
    assert!(close(v["rates"]["delivery_rate"].as_f64().unwrap(), 0.75));
    assert!(close(v["rates"]["click_rate"].as_f64().unwrap(), 1.0 / 3.0));
    let vn = otnctl(&[&args[..], &["--notification", &id]].concat()).await;
    assert_eq!(vn["counts"]["sent"], 4);
    assert_eq!(vn["counts"]["opt_ins"], 0);

    // Erasing a person and pruning old rows take personal fields, never counts.
    let forgotten = client
        .raw()
        .forget_recipient(pb::ForgetRecipientRequest {
            page_id: PAGE.into(),
            psid: "alice".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(forgotten.found && forgotten.deliveries_erased == 1);
    let (start, end) = (f.start_date.clone(), f.end_date.clone());
    let after = funnel(&client, topic_req()).await;
    assert_eq!(
        after.counts.unwrap(),
        want,
        "ForgetRecipient keeps the counts"
    );
    app.clock.advance(chrono::Duration::days(91));
    otn_testkit::eventually(
        "retention deleted the notification",
        Duration::from_secs(20),
        || async {
            match client.get_notification(id.clone()).await {
                Err(e) if e.code() == otn_sdk::tonic::Code::NotFound => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    let kept = funnel(
        &client,
        pb::GetFunnelRequest {
            start_date: start.clone(),
            end_date: end.clone(),
            ..topic_req()
        },
    )
    .await;
    assert_eq!(kept.counts.unwrap(), want, "retention keeps the counts");
    let kept = funnel(
        &client,
        pb::GetFunnelRequest {
            notification_id: id.clone(),
            start_date: start,
            end_date: end,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        kept.counts.unwrap().sent,
        4,
        "a pruned notification's counts stay"
    );
    app.running.shutdown().await;
}
