//! The otnctl binary, run as a process against an in-process server: output formats, progress on a terminal, exit codes.

use std::process::Output;

use crate::support::{PAGE, Server};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_otnctl");

/// Runs otnctl against `url` with `args`, stdout and stderr piped.
async fn otnctl(url: &str, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.arg("--url").arg(url).args(args).env_remove("OTN_URL");
    // Tables unless a test asks otherwise (piped output is JSON by default; one test checks).
    if !args.contains(&"--output") {
        cmd.args(["--output", "table"]);
    }
    match crate::support::key_for(url) {
        Some(key) => cmd.env("OTN_API_KEY", key),
        None => cmd.env_remove("OTN_API_KEY"),
    };
    cmd.kill_on_drop(true).output().await.expect("run otnctl")
}

/// Runs otnctl with a command line split on whitespace, `{page}` standing for the test page.
async fn ctl(url: &str, line: &str) -> Output {
    let line = line.replace("{page}", PAGE);
    otnctl(url, &line.split_whitespace().collect::<Vec<_>>()).await
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) -> String {
    let (out, err) = (stdout(o), stderr(o));
    assert!(o.status.success(), "otnctl failed: {err}\n{out}");
    out
}

fn json(o: &Output) -> Value {
    serde_json::from_str(ok(o).trim()).expect("one JSON object")
}

fn json_lines(o: &Output) -> Vec<Value> {
    let out = ok(o);
    let lines = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"));
    lines.collect()
}

async fn record(server: &Server, psid: &str, topic: &str) -> Value {
    let token = server.token(psid);
    let line = format!(
        "--output json opt-ins record --page {{page}} --psid {psid} --topic {topic} --token {token}"
    );
    json(&ctl(&server.url, &line).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opt_ins_are_recorded_listed_and_revoked() {
    let server = Server::start().await;
    let url = server.url.as_str();
    let g1 = record(&server, "u1", "back-in-stock:sku-1").await;
    assert_eq!(g1["grant"]["state"], "ACTIVE");
    assert_eq!(g1["grant"]["kind"], "ONE_TIME_NOTIFICATION");
    assert_eq!(g1["replayed"], false);
    record(&server, "u2", "back-in-stock:sku-1").await;

    let table = ok(&ctl(
        url,
        "opt-ins list --page {page} --topic back-in-stock:sku-1",
    )
    .await);
    assert!(table.starts_with("PSID"), "{table}");
    assert!(table.contains("u1") && table.contains("u2"), "{table}");
    assert!(table.contains("2 shown, 2 eligible in all"), "{table}");

    let grant = g1["grant"]["grant_id"].as_str().unwrap().to_string();
    let revoked = json(
        &ctl(
            url,
            &format!("--output json opt-ins revoke --grant {grant}"),
        )
        .await,
    );
    assert_eq!(revoked["revoked"][0]["grant_id"], grant.as_str());
    assert_eq!(revoked["revoked"][0]["state"], "REVOKED");
    let line = "opt-ins revoke --page {page} --psid u2 --topic back-in-stock:sku-1";
    let by_person = ok(&ctl(url, line).await);
    assert!(by_person.contains("revoked 1 grant(s)"), "{by_person}");

    let line =
        "--output json opt-ins list --page {page} --topic back-in-stock:sku-1 --explain --all";
    let list = json(&ctl(url, line).await);
    assert_eq!(list["total_size"], 0);
    assert_eq!(list["exclusions"]["REVOKED"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_prints_one_json_object_when_piped_and_json_lines_with_wait() {
    let server = Server::start().await;
    let url = server.url.as_str();
    for p in ["u1", "u2", "u3"] {
        record(&server, p, "back-in-stock:sku-1").await;
    }
    let send = "--output json send --page {page} --topic back-in-stock:sku-1 --text Back!";

    let plan = json(&ctl(url, &format!("{send} --dry-run --max 2")).await);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["plan"]["grant_sends"], 2);
    assert_eq!(plan["plan"]["exclusions"]["MAX_RECIPIENTS"], 1);

    // Piped stdout: no waiting, one object, the notification as stored.
    let n = json(&ctl(url, &format!("{send} --request-id r-1")).await);
    let id = n["notification_id"].as_str().unwrap().to_string();
    assert!(!id.is_empty());
    assert_eq!(n["request_id"], "r-1");
    assert_eq!(n["plan"]["grant_sends"], 3);
    assert_eq!(n["replayed"], false);

    let shown = json(&ctl(url, &format!("--output json notifications show {id}")).await);
    assert_eq!(shown["notification_id"], id.as_str());

    // A scheduled send waits; cancelling it returns its grants.
    record(&server, "s1", "back-in-stock:sku-3").await;
    let line = "--output json send --page {page} --topic back-in-stock:sku-3 --text Later";
    let later = json(&ctl(url, &format!("{line} --schedule 2099-01-01T09:00:00Z")).await);
    assert_eq!(later["state"], "SCHEDULED");
    assert_eq!(later["scheduled_time"], "2099-01-01T09:00:00Z");
    let later_id = later["notification_id"].as_str().unwrap();
    let line = format!("--output json notifications cancel {later_id}");
    let cancelled = json(&ctl(url, &line).await);
    assert_eq!(cancelled["notification"]["state"], "CANCELLED");
    assert_eq!(cancelled["cancelled_deliveries"], 1);

    // --wait: one JSON line per change, the last one final.
    for p in ["w1", "w2"] {
        record(&server, p, "back-in-stock:sku-2").await;
    }
    let line = "--output json send --page {page} --topic back-in-stock:sku-2 --text Back! --wait";
    let lines = json_lines(&ctl(url, line).await);
    let last = lines.last().unwrap();
    assert_eq!(last["final"], true, "{lines:?}");
    assert_eq!(last["state"], "COMPLETED");
    assert_eq!(last["progress"]["sent"], 2);
    assert!(lines[..lines.len() - 1].iter().all(|l| l["final"] == false));
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_on_a_terminal_waits_with_a_progress_bar_and_a_summary() {
    let server = Server::start().await;
    for p in ["u1", "u2", "u3"] {
        record(&server, p, "back-in-stock:sku-1").await;
    }
    let topic = "back-in-stock:sku-1";
    let args = [
        BIN,
        "--url",
        &server.url,
        "send",
        "--page",
        PAGE,
        "--topic",
        topic,
    ];
    let mut cmd: Vec<String> = args.iter().map(|s| shell_quote(s)).collect();
    cmd.extend(["--text".into(), shell_quote("Back in stock!")]);
    // `script` runs the command on a pseudo-terminal (stdout and stderr are terminals) and
    // copies what it printed, bar included, to our pipe.
    let o = tokio::process::Command::new("script")
        .args(["-qfec", &cmd.join(" "), "/dev/null"])
        .env("TERM", "xterm")
        .env("SHELL", "/bin/sh")
        .env("OTN_API_KEY", &server.app.world.key)
        .kill_on_drop(true)
        .output()
        .await
        .expect("script (util-linux) runs");
    let screen = ok(&o);
    assert!(screen.contains("notification "), "{screen}");
    let bar = "] sent 3 · delivered 0 · failed 0 of 3";
    assert!(screen.contains(bar), "the bar: {screen}");
    let summary = "completed: sent 3 · delivered 0 · failed 0 of 3";
    assert!(screen.contains(summary), "the summary: {screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_tail_returns_exactly_the_events_after_n() {
    let server = Server::start().await;
    let url = server.url.as_str();
    for i in 0..6 {
        record(&server, &format!("u{i}"), "back-in-stock:sku-1").await;
    }
    let line = format!(
        "--api-key {} --output json events tail --page {{page}} --after 2 --limit 3",
        server.app.world.key
    );
    let lines = json_lines(&ctl(url, &line).await);
    let seqs: Vec<i64> = lines
        .iter()
        .map(|l| l["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [3, 4, 5]);
    assert!(lines.iter().all(|l| l["type"] == "OPT_IN_RECORDED"));
    assert_eq!(lines[0]["psid"], "u2");

    let table = ok(&ctl(url, "events tail --after 5 --limit 1").await);
    assert_eq!(table.lines().count(), 1, "{table}");
    assert!(table.trim_start().starts_with("6  "), "{table}");
    assert!(
        table.contains("OPT_IN_RECORDED") && table.contains("psid=u5"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_tell_scripts_what_went_wrong() {
    let server = Server::start().await;
    let url = server.url.clone();

    // 3: refused by the SDK before sending, and refused by the server.
    let o = otnctl(
        &url,
        &["send", "--page", PAGE, "--topic", "t", "--text", ""],
    )
    .await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("INVALID_ARGUMENT (INVALID_FIELD)"), "{err}");
    assert!(err.contains("content.text: is required"), "{err}");
    let o = otnctl(
        &url,
        &["opt-ins", "list", "--page", PAGE, "--topic", "bad topic"],
    )
    .await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("topic_key: may only contain"),
        "{}",
        stderr(&o)
    );

    // 4: not found, as JSON on stderr with --output json.
    let missing = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    let o = ctl(&url, &format!("--output json notifications show {missing}")).await;
    assert_eq!(o.status.code(), Some(4));
    let e: Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(e["error"]["code"], "NOT_FOUND");
    assert_eq!(e["error"]["reason"], "NOTIFICATION_NOT_FOUND");
    assert!(stdout(&o).is_empty());

    // 5: the same token for another person.
    let token = server.token("u1");
    let rec = |psid: &str| {
        format!("opt-ins record --page {{page}} --psid {psid} --topic t --token {token}")
    };
    assert_eq!(ctl(&url, &rec("u1")).await.status.code(), Some(0));
    let o = ctl(&url, &rec("u2")).await;
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("TOKEN_CONFLICT"), "{}", stderr(&o));

    // 2: usage.
    assert_eq!(ctl(&url, "send --page {page}").await.status.code(), Some(2));
    let line = "send --page {page} --topic t --text x --schedule tomorrow";
    let o = ctl(&url, line).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not an RFC 3339 time"),
        "{}",
        stderr(&o)
    );
    let o = ctl(&url, "opt-ins revoke --grant 1 --page {page}").await;
    assert_eq!(o.status.code(), Some(2));

    // 6: nobody listening.
    let (_world, addr) = server.stop().await;
    let o = ctl(
        &format!("http://{addr}"),
        &format!("notifications show {missing}"),
    )
    .await;
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("UNAVAILABLE: cannot connect to"),
        "{}",
        stderr(&o)
    );
}

#[tokio::test]
async fn help_reads_well() {
    let help = ok(&otnctl("http://127.0.0.1:1", &["--output", "table", "--help"]).await);
    for needle in [
        "opt-ins",
        "send",
        "events",
        "Exit codes",
        "Examples:",
        "OTN_URL",
    ] {
        assert!(help.contains(needle), "{needle} in {help}");
    }
    let help = ok(&otnctl(
        "http://127.0.0.1:1",
        &["--output", "table", "send", "--help"],
    )
    .await);
    assert!(
        help.contains("--dry-run") && help.contains("--schedule <RFC3339>"),
        "{help}"
    );
}
