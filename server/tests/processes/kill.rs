//! A real `otn-server` process killed with SIGKILL in the middle of a send, then started again
//! on the same database: the rest is sent and no grant is spent twice (the simulator counts).

use std::time::Duration;

use otn::v1 as pb;
use otn_simulator::{Simulator, SimulatorConfig, system_clock};
use otn_testkit::process::{ServerProcess, create_key, write_config};
use otn_testkit::{connect, db, eventually};

const PAGE: &str = "kill-page";

// Several worker threads: starting the server blocks one while the simulator keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_restarted_on_the_same_database_sends_the_rest_and_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(
        "127.0.0.1:0".parse().expect("addr"),
        SimulatorConfig::new(system_clock()),
    )
    .await
    .expect("simulator");
    sim.add_page(PAGE, "kill-page-token");
    let config = write_config(
        dir.path(),
        &format!(
            "grpc_addr = \"127.0.0.1:0\"\nhttp_addr = \"127.0.0.1:0\"\nadmin_addr = \"127.0.0.1:0\"\n\
             database_url = \"{}\"\ngraph_api_base = \"{}\"\n\
             [dispatch]\nlease_ms = 1000\nidle_poll_ms = 20\nbackoff_base_ms = 10\n\
             [[pages]]\npage_id = \"{PAGE}\"\naccess_token = \"kill-page-token\"\n\
             app_secret = \"s\"\nverify_token = \"v\"\nrate_limit_per_sec = 100\n",
            db::fresh_database(dir.path()).await,
            sim.base_url()
        ),
    );

    let key = create_key(
        &crate::bin(),
        &config,
        "kill-test",
        &["read", "consent", "send"],
    );
    let server = ServerProcess::with_config(&crate::bin(), &config);
    let mut client = connect(&server.url(), Some(&key)).await;
    let mut tokens = Vec::new();
    for i in 0..300 {
        let psid = format!("k{i:04}");
        let token = sim.issue_otn_token(PAGE, &psid);
        client
            .record_opt_in(pb::RecordOptInRequest {
                page_id: PAGE.into(),
                psid,
                topic_key: "back-in-stock:sku-1".into(),
                token: token.clone(),
                ..Default::default()
            })
            .await
            .expect("opt-in");
        tokens.push(token);
    }
    let n = client
        .send_notification(pb::SendNotificationRequest {
            request_id: "kill-me".into(),
            page_id: PAGE.into(),
            topic_key: "back-in-stock:sku-1".into(),
            content: Some(pb::Content {
                body: Some(pb::content::Body::Text("Back in stock".into())),
            }),
            ..Default::default()
        })
        .await
        .expect("send")
        .into_inner()
        .notification
        .expect("notification");

    eventually("dispatch started", Duration::from_secs(30), || async {
        match sim.accepted_count() {
            n if n >= 60 => Ok(()),
            n => Err(format!("{n} accepted")),
        }
    })
    .await;
    server.kill();
    let at_kill = sim.accepted_count();
    assert!(at_kill < 300, "killed mid-dispatch ({at_kill} sent)");

    let server = ServerProcess::with_config(&crate::bin(), &config);
    let client = connect(&server.url(), Some(&key)).await;
    let id = n.notification_id.clone();
    let done = eventually("completed after restart", Duration::from_secs(60), || {
        let (mut client, id) = (client.clone(), id.clone());
        async move {
            let got = client
                .get_notification(pb::GetNotificationRequest {
                    notification_id: id,
                })
                .await
                .map_err(|e| e.to_string())?
                .into_inner()
                .notification
                .ok_or("no notification")?;
            match got.state == pb::NotificationState::Completed as i32 {
                true => Ok(got),
                false => Err(format!("{got:?}")),
            }
        }
    })
    .await;
    server.kill();
    let c = done.counts.expect("counts");
    assert_eq!(c.sent, 300, "{c:?}");
    assert_eq!(
        (c.failed, c.unconfirmed),
        (0, 0),
        "in flight at the kill, booked as Meta took them"
    );
    let stats = sim.stats();
    assert_eq!(stats.accepted_total, 300, "nothing sent twice");
    for t in &tokens {
        assert_eq!(
            stats.per_token.get(t),
            Some(&1),
            "token accepted exactly once"
        );
    }
}
