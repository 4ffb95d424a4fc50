//! Deferred deliveries survive replicas dying: two real `otn-server`s on one PostgreSQL, a page
//! with a frequency cap of one notification per minute, a first send to everyone, then a second
//! one whose every delivery waits for the cap. Both replicas are killed with SIGKILL while it
//! waits and two are started again: each person gets the second message exactly once, never
//! before their minute has passed, and the notification completes.

use std::collections::HashMap;
use std::time::Duration;

use otn::v1 as pb;
use otn_simulator::{Simulator, SimulatorConfig, system_clock};
use otn_testkit::process::{ServerProcess, create_key, write_config};
use otn_testkit::{Client, connect, db, eventually};

const PAGE: &str = "polite-page";
const PEOPLE: usize = 60;
const WINDOW_MS: i64 = 60_000;

fn config(url: &str, sim: &Simulator) -> String {
    format!(
        "grpc_addr = \"127.0.0.1:0\"\nhttp_addr = \"127.0.0.1:0\"\nadmin_addr = \"127.0.0.1:0\"\n\
         database_url = \"{url}\"\ngraph_api_base = \"{}\"\ngraph_timeout_ms = 5000\n\
         [dispatch]\nlease_ms = 2000\nidle_poll_ms = 50\nbackoff_base_ms = 10\n\
         [[pages]]\npage_id = \"{PAGE}\"\naccess_token = \"polite-token\"\napp_secret = \"s\"\n\
         verify_token = \"v\"\nrate_limit_per_sec = 50\n\
         [pages.politeness]\nfrequency_cap = 1\nfrequency_window_secs = 60\nquiet_hours = \"\"\n",
        sim.base_url()
    )
}

async fn send(client: &Client, id: &str, topic: &str) -> pb::Notification {
    client
        .clone()
        .send_notification(pb::SendNotificationRequest {
            request_id: id.into(),
            page_id: PAGE.into(),
            topic_key: topic.into(),
            content: Some(pb::Content {
                body: Some(pb::content::Body::Text("Back in stock".into())),
            }),
            ..Default::default()
        })
        .await
        .expect("send")
        .into_inner()
        .notification
        .expect("notification")
}

async fn completed(client: &Client, id: &str, within: Duration) -> pb::Notification {
    eventually("completed", within, || {
        let mut client = client.clone();
        let id = id.to_string();
        async move {
            let n = client
                .get_notification(pb::GetNotificationRequest {
                    notification_id: id,
                })
                .await
                .map_err(|e| e.to_string())?
                .into_inner()
                .notification
                .ok_or("no notification")?;
            match n.state == pb::NotificationState::Completed as i32 {
                true => Ok(n),
                false => Err(format!("{:?}", n.counts)),
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set OTN_TEST_DATABASE_URL and run with -- --include-ignored"]
async fn deliveries_waiting_for_the_cap_survive_both_replicas_killed_and_go_once_on_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db::fresh_postgres(&db::require_postgres()).await;
    let sim = Simulator::start(
        "127.0.0.1:0".parse().expect("addr"),
        SimulatorConfig::new(system_clock()),
    )
    .await
    .expect("simulator");
    sim.add_page(PAGE, "polite-token");
    let config = write_config(dir.path(), &config(&url, &sim));
    let key = create_key(
        &crate::bin(),
        &config,
        "polite",
        &["read", "consent", "send"],
    );
    let a = ServerProcess::with_config(&crate::bin(), &config);
    let b = ServerProcess::with_config(&crate::bin(), &config);
    let (ca, cb) = (
        connect(&a.url(), Some(&key)).await,
        connect(&b.url(), Some(&key)).await,
    );
    let mut tokens: HashMap<String, String> = HashMap::new();
    for i in 0..PEOPLE {
        let psid = format!("p{i:03}");
        for topic in ["back-in-stock:s", "back-in-stock:m"] {
            let token = sim.issue_otn_token(PAGE, &psid);
            ca.clone()
                .record_opt_in(pb::RecordOptInRequest {
                    page_id: PAGE.into(),
                    psid: psid.clone(),
                    topic_key: topic.into(),
                    token: token.clone(),
                    ..Default::default()
                })
                .await
                .expect("opt-in");
            tokens.insert(token, psid.clone());
        }
    }
    let first = send(&ca, "restock-s", "back-in-stock:s").await;
    completed(&ca, &first.notification_id, Duration::from_secs(30)).await;
    // Through the other replica: everyone is at the cap, so every delivery waits, queued.
    let second = send(&cb, "restock-m", "back-in-stock:m").await;
    let plan = second.plan.clone().expect("plan");
    assert_eq!(plan.grant_sends, PEOPLE as i64);
    assert_eq!(plan.deferred_by_frequency_cap, PEOPLE as i64);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sim.accepted_count(),
        PEOPLE as u64,
        "nothing before the cap allows"
    );
    a.kill();
    b.kill();

    let a = ServerProcess::with_config(&crate::bin(), &config);
    let b = ServerProcess::with_config(&crate::bin(), &config);
    let cb = connect(&b.url(), Some(&key)).await;
    let done = completed(
        &cb,
        &second.notification_id,
        Duration::from_millis(WINDOW_MS as u64 + 60_000),
    )
    .await;
    let c = done.counts.expect("counts");
    assert_eq!((c.sent, c.failed, c.unconfirmed), (PEOPLE as i64, 0, 0));
    // Meta's side: every token once; each person's second message a minute after the first.
    let mut per_person: HashMap<String, Vec<i64>> = HashMap::new();
    for m in sim.accepted_messages() {
        let token = m.token.expect("a token send");
        assert!(tokens.contains_key(&token));
        per_person
            .entry(m.recipient_psid)
            .or_default()
            .push(m.accepted_at_ms);
    }
    assert_eq!(
        sim.stats().accepted_total,
        2 * PEOPLE as u64,
        "nothing sent twice"
    );
    assert!(sim.stats().per_token.values().all(|n| *n == 1));
    assert_eq!(per_person.len(), PEOPLE);
    for (psid, mut at) in per_person {
        at.sort_unstable();
        assert_eq!(at.len(), 2, "{psid}");
        // The cap counts from when the first was booked SENT, a little after Meta took it.
        assert!(at[1] - at[0] >= WINDOW_MS, "{psid}: {at:?}");
    }
    a.kill();
    b.kill();
}
