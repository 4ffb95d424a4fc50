//! A real server under the attacks that broke 0.2: more half-sent requests than it has file
//! descriptors, and one request that used to overflow a worker's stack.

use std::time::{Duration, Instant};

use otn::v1 as pb;
use otn_testkit::process::{ServerProcess, create_key, write_config};
use otn_testkit::{connect, db};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PAGE: &str = "hostile-page";

async fn server(
    dir: &std::path::Path,
    extra: &str,
    nofile: Option<u32>,
) -> (ServerProcess, String) {
    let toml = format!(
        "grpc_addr = \"127.0.0.1:0\"\nhttp_addr = \"127.0.0.1:0\"\nadmin_addr = \"127.0.0.1:0\"\n\
         database_url = \"{}\"\ngraph_api_base = \"http://127.0.0.1:9\"\n{extra}\n\
         [[pages]]\npage_id = \"{PAGE}\"\naccess_token = \"t\"\napp_secret = \"s\"\n\
         verify_token = \"v\"\n",
        db::fresh_database(dir).await,
    );
    let file = write_config(dir, &toml);
    let key = create_key(&crate::bin(), &file, "reader", &["read"]);
    let p = match nofile {
        Some(n) => ServerProcess::with_config_and_file_limit(&crate::bin(), &file, n),
        None => ServerProcess::with_config(&crate::bin(), &file),
    };
    (p, key)
}

/// Opens `n` connections to `addr` and sends each the start of a request, never the rest.
async fn half_sent(addr: &str, n: usize, start: &'static [u8]) -> Vec<TcpStream> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        // Past the server's cap, connections wait in the backlog: connect fine, never served.
        if let Ok(Ok(mut s)) =
            tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)).await
        {
            let _ = s.write_all(start).await;
            out.push(s);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_half_sent_requests_than_file_descriptors_leave_probes_metrics_and_calls_working() {
    let dir = tempfile::tempdir().unwrap();
    let limits = "[listeners.grpc]\nfirst_request_timeout_ms = 2000\n\
                  [listeners.http]\nfirst_request_timeout_ms = 2000\nheader_read_timeout_ms = 2000\n";
    let (p, key) = server(dir.path(), limits, Some(1024)).await;
    let started = Instant::now();
    let mut grpc = half_sent(&p.grpc_addr, 600, b"PRI * HTTP/2.0\r\n").await;
    let mut http = half_sent(
        &p.http_addr,
        600,
        b"POST /webhooks/messenger HTTP/1.1\r\nHost: x\r\n",
    )
    .await;
    assert!(
        grpc.len() + http.len() >= 1100,
        "the attack got its sockets"
    );
    let web = otn_testkit::meta::http();
    // The admin listener keeps its own room: probes and metrics answer during the attack.
    for path in ["healthz", "readyz", "metrics"] {
        let r = web
            .get(format!("http://{}/{path}", p.admin_addr))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .unwrap_or_else(|e| panic!("/{path} unreachable under attack: {e}"));
        assert_eq!(r.status(), 200, "/{path}");
    }
    // A real caller gets through once the half-sent connections are dropped (2 s here).
    let mut c = connect(&p.url(), Some(&key)).await;
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        c.list_eligible(pb::ListEligibleRequest {
            page_id: PAGE.into(),
            topic_key: "t".into(),
            ..Default::default()
        }),
    )
    .await
    .expect("a call within 20 s");
    assert!(r.is_ok(), "{r:?}");
    // Every half-sent connection is closed by the server, not left open for good.
    let mut buf = [0u8; 256];
    for s in grpc.iter_mut().chain(http.iter_mut()) {
        let closed = tokio::time::timeout(Duration::from_secs(15), async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a half-sent connection stayed open");
    }
    assert!(started.elapsed() < Duration::from_secs(40));
    // Running out of descriptors (if it happened) is logged once per interval, not per accept.
    let accept_errors = p
        .log()
        .iter()
        .filter(|l| l.contains("accept failed"))
        .count();
    assert!(accept_errors < 10, "{accept_errors} accept error lines");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_key_with_fifteen_thousand_tags_gets_an_answer_and_the_process_lives() {
    let dir = tempfile::tempdir().unwrap();
    let (p, key) = server(dir.path(), "", None).await;
    let mut c = connect(&p.url(), Some(&key)).await;
    for n in [12_000, 15_000, 50_000] {
        let err = c
            .list_eligible(pb::ListEligibleRequest {
                page_id: PAGE.into(),
                topic_key: "t".into(),
                tag_filter: Some(pb::TagFilter {
                    all_of: (0..n).map(|i| format!("tag-{i}")).collect(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            tonic::Code::InvalidArgument,
            "{n} tags: {err:?}"
        );
    }
    let health = reqwest::get(format!("http://{}/healthz", p.admin_addr))
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the process is alive");
}
