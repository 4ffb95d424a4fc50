//! A real server as an SRE runs it: `/metrics` after real traffic (opt-ins, webhooks, a send
//! with a fault), logs without colour codes on a pipe, and the spans of one SendNotification
//! exported over OTLP with the caller's trace id, its Send API calls included.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use otn::v1 as pb;
use otn_simulator::{Fault, Simulator, SimulatorConfig, system_clock};
use otn_testkit::process::{ServerProcess, create_key, write_config};
use otn_testkit::{connect, db, eventually};

const PAGE: &str = "ops-metrics-page";

/// Spans received: (trace id hex, span name).
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<(String, String)>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        req: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for rs in req.into_inner().resource_spans {
            for ss in rs.scope_spans {
                for s in ss.spans {
                    spans.push((hex::encode(&s.trace_id), s.name));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// The value of the sample of `name` carrying every one of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_traffic_logs_have_no_colour_and_traces_follow_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::default();
    let otlp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp_addr = otlp.local_addr().unwrap();
    let service = TraceServiceServer::new(collector.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(otlp)),
    );
    let sim = Simulator::start(
        "127.0.0.1:0".parse().unwrap(),
        SimulatorConfig::new(system_clock()),
    )
    .await
    .unwrap();
    sim.add_page(PAGE, "ops-token");
    let toml = format!(
        "grpc_addr = \"127.0.0.1:0\"\nhttp_addr = \"127.0.0.1:0\"\nadmin_addr = \"127.0.0.1:0\"\n\
         database_url = \"{}\"\ngraph_api_base = \"{}\"\n\
         [dispatch]\nbackoff_base_ms = 10\nbackoff_max_ms = 50\n\
         [telemetry]\notlp_endpoint = \"http://{otlp_addr}\"\nservice_name = \"otn-test\"\n\
         [[pages]]\npage_id = \"{PAGE}\"\naccess_token = \"ops-token\"\napp_secret = \"ops-secret\"\n\
         verify_token = \"v\"\n",
        db::fresh_database(dir.path()).await,
        sim.base_url()
    );
    let file = write_config(dir.path(), &toml);
    let key = create_key(
        &crate::bin(),
        &file,
        "inventory",
        &["read", "consent", "send"],
    );
    let server = ServerProcess::start(
        &crate::bin(),
        &["--config", file.to_str().unwrap()],
        &[("OTEL_BSP_SCHEDULE_DELAY", "100")],
    );
    sim.set_webhook(
        format!("http://{}/webhooks/messenger", server.http_addr),
        "ops-secret".into(),
    );
    let mut c = connect(&server.url(), Some(&key)).await;
    c.record_opt_in(pb::RecordOptInRequest {
        page_id: PAGE.into(),
        psid: "u1".into(),
        topic_key: "t".into(),
        token: sim.issue_otn_token(PAGE, "u1"),
        ..Default::default()
    })
    .await
    .unwrap();
    sim.user_taps_notify_me(PAGE, "u2", "t").await.unwrap();
    sim.inject(vec![Fault::ServerError]);
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut req = tonic::Request::new(pb::SendNotificationRequest {
        request_id: "ops".into(),
        page_id: PAGE.into(),
        topic_key: "t".into(),
        content: Some(pb::Content {
            body: Some(pb::content::Body::Text("Back".into())),
        }),
        ..Default::default()
    });
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    req.metadata_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    c.send_notification(req).await.unwrap();
    eventually("both sent", Duration::from_secs(30), || async {
        match sim.accepted_count() {
            2 => Ok(()),
            n => Err(format!("{n}")),
        }
    })
    .await;

    let http = otn_testkit::meta::http();
    let url = format!("http://{}/metrics", server.admin_addr);
    let text = eventually(
        "the queue sampled and the outcomes counted",
        Duration::from_secs(20),
        || async {
            let text = http
                .get(&url)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())?;
            let sent = sample(
                &text,
                "otn_deliveries_finished_total",
                &[("page_id", PAGE), ("state", "sent")],
            );
            let sampled = text.contains(&format!(
                "otn_deliveries{{page_id=\"{PAGE}\",state=\"queued\"}} 0"
            ));
            match (sent, sampled) {
                (2.0, true) => Ok(text),
                _ => Err(text),
            }
        },
    )
    .await;
    let rpc = |m: &str| {
        sample(
            &text,
            "otn_rpc_requests_total",
            &[("method", m), ("code", "OK")],
        )
    };
    assert_eq!(rpc("RecordOptIn"), 1.0);
    assert_eq!(rpc("SendNotification"), 1.0);
    let calls = |outcome: &str, code: &str| {
        sample(
            &text,
            "otn_send_api_calls_total",
            &[("page_id", PAGE), ("outcome", outcome), ("code", code)],
        )
    };
    assert_eq!(calls("accepted", "0"), 2.0, "{text}");
    assert_eq!(
        calls("unknown_outcome", "2"),
        1.0,
        "the injected 500: {text}"
    );
    let webhook = sample(
        &text,
        "otn_webhook_events_total",
        &[("kind", "opt_in"), ("outcome", "applied")],
    );
    assert_eq!(webhook, 1.0, "{text}");
    assert!(sample(&text, "otn_webhook_requests_total", &[("status", "200")]) >= 1.0);
    assert!(text.contains("otn_rpc_duration_seconds_bucket"), "{text}");
    assert!(text.contains("otn_db_connections"), "{text}");

    let spans = eventually(
        "the send's spans exported",
        Duration::from_secs(20),
        || async {
            let spans = collector.0.lock().unwrap().clone();
            let ours: Vec<String> = spans
                .iter()
                .filter(|(t, _)| t == trace_id)
                .map(|(_, n)| n.clone())
                .collect();
            let calls = ours.iter().filter(|n| *n == "send_api_call").count();
            match ours.iter().any(|n| n == "SendNotification") && calls >= 2 {
                true => Ok(ours),
                false => Err(format!("{spans:?}")),
            }
        },
    )
    .await;
    assert!(spans.len() >= 3, "{spans:?}");

    let logs = server.log();
    assert!(logs.iter().any(|l| l.contains("otn serving")));
    let coloured: Vec<&String> = logs.iter().filter(|l| l.contains('\u{1b}')).collect();
    assert!(
        coloured.is_empty(),
        "no colour codes on a pipe: {coloured:?}"
    );
}

/// The `otn_…` names in the README's metric and alert tables (the table rows of its Operations
/// section, up to its Limits), each with the label matchers written after it (`k="v"`, and
/// `k=~"a|b"` as its alternatives; negative matchers are not existence claims).
fn readme_metrics() -> Vec<(String, Vec<(String, String)>)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let start = readme.find("## Operations").expect("an Operations section");
    let end = start
        + readme[start..]
            .find("**Limits**")
            .expect("the Limits after it");
    let mut out = Vec::new();
    for row in readme[start..end].lines().filter(|l| l.starts_with('|')) {
        let row = row.replace("\\|", "|");
        let mut rest = row.as_str();
        while let Some(at) = rest.find("otn_") {
            rest = &rest[at..];
            let len = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()))
                .unwrap_or(rest.len());
            let name = rest[..len].to_string();
            rest = &rest[len..];
            let mut labels = Vec::new();
            if let Some(selector) = rest.strip_prefix('{') {
                let close = selector.find('}').expect("a closed selector");
                for matcher in selector[..close].split(',') {
                    let matcher = matcher.trim();
                    if let Some((k, v)) = matcher.split_once("=~") {
                        for alt in v.trim_matches('"').split('|') {
                            labels.push((k.to_string(), alt.to_string()));
                        }
                    } else if let Some((k, v)) = matcher.split_once('=')
                        && !k.ends_with('!')
                    {
                        labels.push((k.to_string(), v.trim_matches('"').to_string()));
                    }
                }
                rest = &selector[close..];
            }
            out.push((name, labels));
        }
    }
    out
}

#[tokio::test]
async fn a_fresh_server_exposes_every_family_and_label_the_readme_names() {
    let named = readme_metrics();
    assert!(
        named.len() >= 30,
        "the README's tables were not found: {named:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "grpc_addr = \"127.0.0.1:0\"\nhttp_addr = \"127.0.0.1:0\"\nadmin_addr = \"127.0.0.1:0\"\n\
         database_url = \"sqlite://{}/fresh.db?mode=rwc\"\ngraph_api_base = \"http://127.0.0.1:9\"\n\
         [[pages]]\npage_id = \"{PAGE}\"\naccess_token = \"t\"\napp_secret = \"s\"\nverify_token = \"v\"\n",
        dir.path().display()
    );
    let file = write_config(dir.path(), &toml);
    let server = ServerProcess::with_config(&crate::bin(), &file);
    let url = format!("http://{}/metrics", server.admin_addr);
    let text = otn_testkit::meta::http()
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let families: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let mut missing = Vec::new();
    for (name, labels) in &named {
        let family = [name.as_str()]
            .into_iter()
            .chain(["_bucket", "_sum", "_count"].map(|s| name.strip_suffix(s).unwrap_or("")))
            .find(|f| families.contains(f));
        let Some(family) = family else {
            missing.push(name.clone());
            continue;
        };
        for (k, v) in labels {
            let has = text
                .lines()
                .filter(|l| l.starts_with(family) && !l.starts_with('#'))
                .any(|l| l.contains(&format!("{k}=\"{v}\"")));
            if !has {
                missing.push(format!("{name}{{{k}=\"{v}\"}}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "a fresh server lacks what the README names: {missing:?}\n{text}"
    );
    // Every page-labelled family has the configured page; every method its codes.
    assert!(text.contains(&format!(
        "otn_deliveries_finished_total{{page_id=\"{PAGE}\",state=\"unconfirmed\"}} 0"
    )));
    assert!(
        text.contains("otn_rpc_requests_total{method=\"SendNotification\",code=\"Internal\"} 0")
    );
}

/// 100 opt-ins and 25 receipts by signed webhook, and one opt-in by RPC: the webhook's
/// routine successes are one summary line, not a line each; the RPC keeps its audit line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routine_webhook_successes_are_summarised_and_the_rpc_audit_line_stays() {
    use otn_testkit::meta::{body_of, delivery, otn_optin, sign};
    let page = otn_testkit::PAGE;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "grpc_addr = \"127.0.0.1:0\"\nhttp_addr = \"127.0.0.1:0\"\nadmin_addr = \"127.0.0.1:0\"\n\
         database_url = \"{}\"\ngraph_api_base = \"http://127.0.0.1:9\"\n\
         [telemetry]\nlog_summary_secs = 1\n\
         [[pages]]\npage_id = \"{page}\"\naccess_token = \"t\"\napp_secret = \"log-secret\"\n\
         verify_token = \"v\"\n",
        db::fresh_database(dir.path()).await,
    );
    let file = write_config(dir.path(), &toml);
    let key = create_key(&crate::bin(), &file, "inventory", &["consent"]);
    let server = ServerProcess::with_config(&crate::bin(), &file);
    let http = otn_testkit::meta::http();
    let url = format!("http://{}/webhooks/messenger", server.http_addr);
    let now = chrono::Utc::now().timestamp_millis();
    let mut bodies: Vec<Vec<u8>> = (0..4)
        .map(|b| {
            let events = (0..25)
                .map(|i| {
                    let n = b * 25 + i;
                    otn_optin(&format!("u{n}"), now, "t", &format!("tok-{n}"))
                })
                .collect();
            body_of(now, events)
        })
        .collect();
    bodies.push(body_of(
        now,
        (0..25)
            .map(|n| delivery(&format!("u{n}"), &[], now))
            .collect(),
    ));
    for body in bodies {
        let status = http
            .post(&url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", sign("log-secret", &body))
            .body(body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    let mut c = connect(&server.url(), Some(&key)).await;
    c.record_opt_in(pb::RecordOptInRequest {
        page_id: page.into(),
        psid: "by-rpc".into(),
        topic_key: "t".into(),
        token: "tok-rpc".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    // A loaded machine may spread the 100 opt-ins over several summary intervals.
    let summarised = |log: &[String]| -> u64 {
        log.iter()
            .filter(|l| l.contains("webhook events"))
            .filter_map(|l| l.split("opt_in=").nth(1))
            .filter_map(|n| {
                n.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    };
    let log = eventually("the summary lines", Duration::from_secs(20), || async {
        let log = server.log();
        match summarised(&log) == 100 {
            true => Ok(log),
            false => Err(log.join("\n")),
        }
    })
    .await;
    let text = log.join("\n");
    assert!(
        !text.contains("opt-in recorded"),
        "one line per opt-in:\n{text}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains(" rpc ") && l.contains("RecordOptIn") && l.contains("inventory")),
        "the audit line of the mutating RPC:\n{text}"
    );
    let others = log.iter().filter(|l| !l.contains("webhook events")).count();
    assert!(others < 20, "{others} lines besides the summaries:\n{text}");
}
