//! otnctl as a newcomer meets it: JSON when piped, button templates, `--wait` failing when
//! deliveries fail, usage errors, and the `sandbox` commands that play the shopper.

use std::process::Output;

use otn_simulator::Fault;
use serde_json::Value;

use crate::support::{PAGE, Server};

const BIN: &str = env!("CARGO_BIN_EXE_otnctl");

/// otnctl with `args`, stdout piped, no default output format.
async fn run(args: &[&str], key: Option<&str>) -> Output {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args)
        .env_remove("OTN_URL")
        .env_remove("OTN_SANDBOX_URL");
    match key {
        Some(k) => cmd.env("OTN_API_KEY", k),
        None => cmd.env_remove("OTN_API_KEY"),
    };
    cmd.kill_on_drop(true).output().await.expect("run otnctl")
}

fn out(o: &Output) -> String {
    let (s, e) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(
        o.status.success(),
        "otnctl failed ({:?}): {e}\n{s}",
        o.status.code()
    );
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_output_is_json_buttons_send_a_template_and_failed_deliveries_exit_7() {
    let server = Server::start().await;
    let key = server.app.world.key.clone();
    let client = server.client().await;
    for p in ["u1", "u2"] {
        server.opt_in(&client, p, "back-in-stock:sku-1").await;
    }
    let url = server.url.as_str();
    let listed = out(&run(
        &[
            "--url",
            url,
            "opt-ins",
            "list",
            "--page",
            PAGE,
            "--topic",
            "back-in-stock:sku-1",
        ],
        Some(&key),
    )
    .await);
    let v: Value = serde_json::from_str(listed.trim()).expect("JSON when piped");
    assert_eq!(v["recipients"].as_array().map(Vec::len), Some(2), "{v}");

    server.sim().inject(vec![Fault::TokenInvalid]);
    let args = [
        "--url",
        url,
        "send",
        "--page",
        PAGE,
        "--topic",
        "back-in-stock:sku-1",
        "--text",
        "SL13 is back",
        "--button",
        "Buy now=https://shop.example/sl13",
        "--button",
        "Not now=postback:LATER",
        "--wait",
    ];
    let o = run(&args, Some(&key)).await;
    assert_eq!(
        o.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("deliveries failed: 1 of 2"));
    let sent = server.sim().accepted_messages();
    assert_eq!(sent.len(), 1);
    let payload = &sent[0].message["attachment"]["payload"];
    assert_eq!(payload["template_type"], "button");
    assert_eq!(payload["text"], "SL13 is back");
    assert_eq!(payload["buttons"][0]["url"], "https://shop.example/sl13");
    assert_eq!(payload["buttons"][1]["payload"], "LATER");

    let o = run(
        &["--url", "not-a-url", "notifications", "show", "x"],
        Some(&key),
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "a bad URL is a usage error");
    let o = run(
        &["--url", url, "notifications", "show", "x"],
        Some("otn_wrong"),
    )
    .await;
    assert_eq!(o.status.code(), Some(8), "a wrong key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_commands_play_the_shopper_from_opt_in_to_read() {
    let world = otn_testkit::World::new().await;
    let app = world.spawn_with(|c| world.sandbox(c)).await;
    let grpc = app.url();
    let http = format!("http://{}", app.running.http_addr);
    let ctl = |line: &str| {
        let mut args: Vec<String> = vec![
            "--url".into(),
            grpc.clone(),
            "--sandbox-url".into(),
            http.clone(),
            "--output".into(),
            "table".into(),
        ];
        args.extend(line.split_whitespace().map(str::to_string));
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&refs, None).await
        }
    };
    let said = out(&ctl("sandbox message --psid alice").await);
    assert!(said.contains("alice wrote to sandbox-page"), "{said}");
    for who in ["alice", "bob"] {
        let said = out(&ctl(&format!(
            "sandbox notify-me --psid {who} --topic back-in-stock:sku-123"
        ))
        .await);
        assert!(said.contains("otn recorded the grant"), "{said}");
    }
    let listed = otn_testkit::eventually(
        "both opted in",
        std::time::Duration::from_secs(10),
        || async {
            let l =
                out(&ctl("opt-ins list --page sandbox-page --topic back-in-stock:sku-123").await);
            match l.contains("alice") && l.contains("bob") {
                true => Ok(l),
                false => Err(l),
            }
        },
    )
    .await;
    assert!(listed.contains("2 eligible"), "{listed}");
    let done = out(&ctl(
        "send --page sandbox-page --topic back-in-stock:sku-123 --text Back --wait",
    )
    .await);
    assert!(done.contains("completed: sent 2"), "{done}");
    let inbox = out(&ctl("sandbox messages --psid alice").await);
    assert!(inbox.contains("alice") && inbox.contains("Back"), "{inbox}");
    out(&ctl("sandbox read --psid alice").await);
    out(&ctl("sandbox reply --psid alice").await);
    let gone = run(
        &[
            "--sandbox-url",
            "http://127.0.0.1:1",
            "sandbox",
            "read",
            "--psid",
            "x",
        ],
        None,
    )
    .await;
    assert_eq!(gone.status.code(), Some(2), "no sandbox there");
    app.running.shutdown().await;
}
