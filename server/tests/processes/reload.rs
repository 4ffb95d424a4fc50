//! Pages without restarts: two real servers on one PostgreSQL watch the same configuration
//! file; a page added and a page token rotated in it are used by both within seconds, and the
//! old token (revoked at the stand-in) is never used again.

use std::time::Duration;

use otn::v1 as pb;
use otn_simulator::{Simulator, SimulatorConfig, system_clock};
use otn_testkit::process::{ServerProcess, create_key, write_config};
use otn_testkit::{Client, connect, db, eventually};

fn config(url: &str, graph: &str, pages: &[(&str, &str)]) -> String {
    let mut toml = format!(
        "grpc_addr = \"127.0.0.1:0\"\nhttp_addr = \"127.0.0.1:0\"\nadmin_addr = \"127.0.0.1:0\"\n\
         database_url = \"{url}\"\ngraph_api_base = \"{graph}\"\n\
         [dispatch]\nlease_ms = 2000\nidle_poll_ms = 50\nbackoff_base_ms = 10\npage_pause_ms = 200\n"
    );
    for (page, token) in pages {
        toml.push_str(&format!(
            "[[pages]]\npage_id = \"{page}\"\naccess_token = \"{token}\"\napp_secret = \"s\"\n\
             verify_token = \"v\"\nrate_limit_per_sec = 200\n"
        ));
    }
    toml
}

async fn opt_in_and_send(c: &Client, sim: &Simulator, page: &str, n: usize) -> String {
    for i in 0..n {
        let psid = format!("{page}-{i}");
        c.clone()
            .record_opt_in(pb::RecordOptInRequest {
                page_id: page.into(),
                psid: psid.clone(),
                topic_key: "t".into(),
                token: sim.issue_otn_token(page, &psid),
                ..Default::default()
            })
            .await
            .expect("opt-in");
    }
    c.clone()
        .send_notification(pb::SendNotificationRequest {
            request_id: format!("send-{page}"),
            page_id: page.into(),
            topic_key: "t".into(),
            content: Some(pb::Content {
                body: Some(pb::content::Body::Text("Back".into())),
            }),
            ..Default::default()
        })
        .await
        .expect("send")
        .into_inner()
        .notification
        .expect("notification")
        .notification_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set OTN_TEST_DATABASE_URL and run with -- --include-ignored"]
async fn a_page_added_and_a_token_rotated_in_the_file_are_used_by_both_replicas() {
    let url = db::fresh_postgres(&db::require_postgres()).await;
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(
        "127.0.0.1:0".parse().unwrap(),
        SimulatorConfig::new(system_clock()),
    )
    .await
    .unwrap();
    sim.add_page("page-a", "token-a1");
    let file = dir.path().join("otn.toml");
    std::fs::write(
        &file,
        config(&url, &sim.base_url(), &[("page-a", "token-a1")]),
    )
    .unwrap();
    let key = create_key(&crate::bin(), &file, "ops", &["read", "consent", "send"]);
    let servers = [
        ServerProcess::with_config(&crate::bin(), &file),
        ServerProcess::with_config(&crate::bin(), &file),
    ];
    let clients = [
        connect(&servers[0].url(), Some(&key)).await,
        connect(&servers[1].url(), Some(&key)).await,
    ];
    let unknown = clients[1]
        .clone()
        .list_eligible(pb::ListEligibleRequest {
            page_id: "page-b".into(),
            topic_key: "t".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        unknown.code(),
        tonic::Code::NotFound,
        "page-b is not configured yet"
    );

    // The operator rotates page-a's token and adds page-b; Meta stops taking the old token.
    sim.add_page("page-a", "token-a2");
    sim.add_page("page-b", "token-b1");
    let pages = [("page-a", "token-a2"), ("page-b", "token-b1")];
    let rewritten = write_config(dir.path(), &config(&url, &sim.base_url(), &pages));
    std::fs::rename(&rewritten, &file).unwrap();
    sim.revoke_access_token("token-a1");
    for s in &servers {
        eventually("pages reloaded", Duration::from_secs(10), || async {
            match s.log().iter().any(|l| l.contains("pages reloaded")) {
                true => Ok(()),
                false => Err("not yet".to_string()),
            }
        })
        .await;
    }
    let a = opt_in_and_send(&clients[0], &sim, "page-a", 60).await;
    let b = opt_in_and_send(&clients[1], &sim, "page-b", 60).await;
    for (c, id) in [(&clients[0], &a), (&clients[1], &b)] {
        eventually(
            "completed with the new tokens",
            Duration::from_secs(60),
            || async {
                let n = c
                    .clone()
                    .get_notification(pb::GetNotificationRequest {
                        notification_id: id.clone(),
                    })
                    .await
                    .map_err(|e| e.to_string())?
                    .into_inner()
                    .notification
                    .ok_or("none")?;
                let counts = n.counts.unwrap_or_default();
                match (
                    n.state == pb::NotificationState::Completed as i32,
                    counts.sent,
                ) {
                    (true, 60) => Ok(()),
                    _ => Err(format!("{n:?}")),
                }
            },
        )
        .await;
    }
    assert_eq!(
        sim.accepted_count(),
        120,
        "every send with a token Meta still takes"
    );
    for s in &servers {
        let refused = s
            .log()
            .iter()
            .filter(|l| l.contains("page_token_rejected"))
            .count();
        assert_eq!(refused, 0, "no replica used the revoked token");
    }
}
