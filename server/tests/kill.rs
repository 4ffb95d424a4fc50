//! A real `otn-server` process killed with SIGKILL in the middle of a send, then started again
//! on the same database: the rest is sent and no grant is spent twice (the simulator counts).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use otn::v1::{self as pb, notification_service_client::NotificationServiceClient};
use otn_server::clock::SystemClock;
use otn_server::messenger::simulator::{Simulator, SimulatorConfig};

const PAGE: &str = "kill-page";

/// Starts the binary and returns it with the gRPC address it logged.
fn start(config: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_otn-server"))
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn otn-server");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("grpc_addr=").nth(1) {
                let addr: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server logged its address");
    (child, addr)
}

async fn database_url(dir: &std::path::Path) -> String {
    use sea_orm::ConnectionTrait;
    match std::env::var("OTN_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let name = format!("otn_t_{}", uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(&base).await.expect("PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create");
            let (prefix, _) = base.rsplit_once('/').expect("path");
            format!("{prefix}/{name}")
        }
        _ => format!("sqlite://{}?mode=rwc", dir.join("otn.db").display()),
    }
}

#[tokio::test]
async fn a_killed_server_restarted_on_the_same_database_sends_the_rest_and_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(
        "127.0.0.1:0".parse().expect("addr"),
        SimulatorConfig::new(Arc::new(SystemClock)),
    )
    .await
    .expect("simulator");
    sim.add_page(PAGE, "kill-page-token");
    let config = dir.path().join("otn.toml");
    std::fs::write(
        &config,
        format!(
            "grpc_addr = \"127.0.0.1:0\"\nhttp_addr = \"127.0.0.1:0\"\n\
             database_url = \"{}\"\ngraph_api_base = \"{}\"\n\
             [dispatch]\nlease_ms = 1000\nidle_poll_ms = 20\nbackoff_base_ms = 10\n\
             [[pages]]\npage_id = \"{PAGE}\"\naccess_token = \"kill-page-token\"\n\
             app_secret = \"s\"\nverify_token = \"v\"\nrate_limit_per_sec = 100\n",
            database_url(dir.path()).await,
            sim.base_url()
        ),
    )
    .expect("config");

    let (mut child, addr) = start(&config);
    let mut client = NotificationServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
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

    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.accepted_count() < 60 {
        assert!(Instant::now() < deadline, "dispatch did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let at_kill = sim.accepted_count();
    assert!(at_kill < 300, "killed mid-dispatch ({at_kill} sent)");

    let (mut child, addr) = start(&config);
    let mut client = NotificationServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("reconnect");
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let got = client
            .get_notification(pb::GetNotificationRequest {
                notification_id: n.notification_id.clone(),
            })
            .await
            .expect("get")
            .into_inner()
            .notification
            .expect("notification");
        if got.state == pb::NotificationState::Completed as i32 {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "not completed after restart: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    child.kill().ok();
    assert_eq!(done.counts.expect("counts").sent, 300);
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
