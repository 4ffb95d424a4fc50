//! Two real `otn-server` replicas on one PostgreSQL, a fan-out of 5,000 grants over five pages
//! against a Graph API stand-in with 300 ms of latency, one replica killed with SIGKILL mid-send
//! and started again: every token is accepted exactly once, every notification completes with
//! every delivery SENT (the killed replica's attempts in flight are retried as ambiguous, and
//! the stand-in's refusal of a spent token, worded as Meta words it, books them sent: none
//! FAILED, none UNCONFIRMED), no page goes over its rate in any one-second window, and both
//! replicas stream the same log.

use std::collections::HashMap;
use std::time::Duration;

use otn::v1 as pb;
use otn_simulator::{Simulator, SimulatorConfig, system_clock};
use otn_testkit::process::{ServerProcess, create_key, write_config};
use otn_testkit::{Client, connect, db, eventually};

const PAGES: usize = 5;
const PER_PAGE: usize = 1_000;
const RATE: u32 = 200;
const TOPIC: &str = "back-in-stock:sku-r";

fn page(i: usize) -> String {
    format!("replica-page-{i}")
}

fn config(url: &str, sim: &Simulator) -> String {
    let mut toml = format!(
        "grpc_addr = \"127.0.0.1:0\"\nhttp_addr = \"127.0.0.1:0\"\nadmin_addr = \"127.0.0.1:0\"\n\
         database_url = \"{url}\"\ngraph_api_base = \"{}\"\ngraph_timeout_ms = 5000\n\
         [dispatch]\nlease_ms = 2000\nidle_poll_ms = 50\nbackoff_base_ms = 10\n",
        sim.base_url()
    );
    for i in 0..PAGES {
        toml.push_str(&format!(
            "[[pages]]\npage_id = \"{}\"\naccess_token = \"token-{i}\"\napp_secret = \"s\"\n\
             verify_token = \"v\"\nrate_limit_per_sec = {RATE}\n",
            page(i)
        ));
    }
    toml
}

/// Records `PER_PAGE` grants on each page with tokens the stand-in issued.
async fn opt_in_everyone(client: &Client, sim: &Simulator) -> Vec<String> {
    let mut people = Vec::new();
    for p in 0..PAGES {
        for i in 0..PER_PAGE {
            let psid = format!("r{p}-{i:04}");
            people.push((page(p), psid.clone(), sim.issue_otn_token(&page(p), &psid)));
        }
    }
    let tokens = people.iter().map(|(_, _, t)| t.clone()).collect();
    let chunks: Vec<Vec<_>> = people
        .chunks(people.len() / 16)
        .map(<[_]>::to_vec)
        .collect();
    let tasks = chunks.into_iter().map(|chunk| {
        let mut client = client.clone();
        tokio::spawn(async move {
            for (page_id, psid, token) in chunk {
                client
                    .record_opt_in(pb::RecordOptInRequest {
                        page_id,
                        psid,
                        topic_key: TOPIC.into(),
                        token,
                        ..Default::default()
                    })
                    .await
                    .expect("opt-in");
            }
        })
    });
    for t in futures::future::join_all(tasks).await {
        t.expect("opt-in task");
    }
    tokens
}

async fn state(client: &Client, id: &str) -> Result<pb::Notification, String> {
    client
        .clone()
        .get_notification(pb::GetNotificationRequest {
            notification_id: id.into(),
        })
        .await
        .map_err(|e| e.to_string())?
        .into_inner()
        .notification
        .ok_or_else(|| "no notification".into())
}

/// Every event of the log, as (sequence, type, delivery), read from one replica.
async fn whole_log(client: &Client, head: i64) -> Vec<(i64, i32, String)> {
    let mut stream = client
        .clone()
        .stream_delivery_events(pb::StreamDeliveryEventsRequest::default())
        .await
        .expect("stream")
        .into_inner();
    let mut seen = Vec::new();
    while seen.last().is_none_or(|(s, _, _)| *s < head) {
        let e = tokio::time::timeout(Duration::from_secs(30), stream.message())
            .await
            .expect("an event in time")
            .expect("stream open")
            .expect("an event")
            .event
            .expect("event");
        seen.push((e.sequence, e.r#type, e.delivery_id));
    }
    seen
}

// Several worker threads: starting a replica blocks one while it waits for the log line, and the
// stand-in (in this process) must keep serving, and timing calls, meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set OTN_TEST_DATABASE_URL and run with -- --include-ignored"]
async fn two_replicas_one_killed_send_every_token_once_at_the_page_rate_and_stream_one_log() {
    let url = db::fresh_postgres(&db::require_postgres()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(
        "127.0.0.1:0".parse().expect("addr"),
        SimulatorConfig {
            latency: Duration::from_millis(300),
            ..SimulatorConfig::new(system_clock())
        },
    )
    .await
    .expect("stand-in");
    for i in 0..PAGES {
        sim.add_page(&page(i), &format!("token-{i}"));
    }
    let config = write_config(dir.path(), &config(&url, &sim));
    let key = create_key(
        &crate::bin(),
        &config,
        "replicas-test",
        &["read", "consent", "send"],
    );
    let a = ServerProcess::with_config_niced(&crate::bin(), &config);
    let b = ServerProcess::with_config_niced(&crate::bin(), &config);
    let ca = connect(&a.url(), Some(&key)).await;
    let tokens = opt_in_everyone(&ca, &sim).await;

    let mut ids = Vec::new();
    for i in 0..PAGES {
        let n = ca
            .clone()
            .send_notification(pb::SendNotificationRequest {
                request_id: format!("replicas-{i}"),
                page_id: page(i),
                topic_key: TOPIC.into(),
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
        ids.push(n.notification_id);
    }
    eventually("a third sent", Duration::from_secs(60), || async {
        match sim.accepted_count() as usize {
            n if n >= tokens.len() / 3 => Ok(()),
            n => Err(format!("{n} accepted")),
        }
    })
    .await;
    b.kill();
    let at_kill = sim.accepted_count() as usize;
    assert!(at_kill < tokens.len(), "killed mid-send ({at_kill} sent)");
    let b = ServerProcess::with_config_niced(&crate::bin(), &config);
    let cb = connect(&b.url(), Some(&key)).await;

    for id in &ids {
        let done = eventually("completed", Duration::from_secs(120), || async {
            let n = state(&ca, id).await?;
            match n.state == pb::NotificationState::Completed as i32 {
                true => Ok(n),
                false => Err(format!("{:?} {:?}", n.state, n.counts)),
            }
        })
        .await;
        let c = done.counts.expect("counts");
        assert_eq!(c.sent as usize, PER_PAGE, "{id}: {c:?}");
        assert_eq!(
            (c.failed, c.unconfirmed),
            (0, 0),
            "{id}: the books agree with Meta"
        );
    }

    let stats = sim.stats();
    assert_eq!(
        stats.accepted_total as usize,
        tokens.len(),
        "nothing sent twice"
    );
    let once: HashMap<&String, u32> = tokens.iter().map(|t| (t, 1)).collect();
    for t in &tokens {
        assert_eq!(
            stats.per_token.get(t),
            once.get(t),
            "token accepted exactly once"
        );
    }
    let calls: usize = (0..PAGES).map(|i| sim.call_times(&page(i)).len()).sum();
    eprintln!(
        "{} Send API calls for {} messages: {} refused as already spent (in flight at the kill), \
         every one booked SENT",
        calls,
        tokens.len(),
        calls - tokens.len()
    );
    // The pacer aims 1.5% under the rate; 5% over it allows a scheduling stall of one of the
    // two processes (or of the simulator stamping arrivals) without hiding a doubled rate.
    let limit = (f64::from(RATE) * 1.05).floor() as usize;
    for i in 0..PAGES {
        let busiest = sim.busiest_window(&page(i), 1000);
        eprintln!(
            "{}: busiest one-second window {busiest} calls (rate {RATE})",
            page(i)
        );
        assert!(
            busiest <= limit,
            "{}: {busiest} calls in one second (rate {RATE})",
            page(i)
        );
    }

    let last = final_head(&ca).await;
    let from_a = whole_log(&ca, last).await;
    let from_b = whole_log(&cb, last).await;
    assert_eq!(from_a, from_b, "both replicas stream the same log");
    let seqs: Vec<i64> = from_a.iter().map(|(s, _, _)| *s).collect();
    assert_eq!(
        seqs,
        (1..=last).collect::<Vec<_>>(),
        "gap-free and strictly increasing"
    );
    a.kill();
    b.kill();
}

/// The sequence of the last event, once the log stops growing (every notification is done).
async fn final_head(client: &Client) -> i64 {
    let mut stream = client
        .clone()
        .stream_delivery_events(pb::StreamDeliveryEventsRequest::default())
        .await
        .expect("stream")
        .into_inner();
    let mut last = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(3), stream.message()).await {
            Ok(Ok(Some(m))) => last = m.event.expect("event").sequence,
            Ok(other) => panic!("stream ended: {other:?}"),
            Err(_) => return last,
        }
    }
}
