//! The server binary as an operator runs it: no pages means no start (unless the sandbox is
//! asked for), API keys made and revoked with `otn-server api-key`, a revocation seen by a
//! second replica, and no secret in any log line.

use std::time::Duration;

use otn::v1 as pb;
use otn_simulator::{Simulator, SimulatorConfig, system_clock};
use otn_testkit::process::{ServerProcess, create_key, run, write_config};
use otn_testkit::{connect, db, eventually};
use sha2::{Digest, Sha256};

const PAGE: &str = "ops-page";
const PAGE_TOKEN: &str = "EAAG-page-token-8b1f";
const APP_SECRET: &str = "app-secret-51c0";

fn config(url: &str, graph: &str) -> String {
    format!(
        "grpc_addr = \"127.0.0.1:0\"\nhttp_addr = \"127.0.0.1:0\"\nadmin_addr = \"127.0.0.1:0\"\n\
         database_url = \"{url}\"\ngraph_api_base = \"{graph}\"\napi_key_cache_ms = 500\n\
         [[pages]]\npage_id = \"{PAGE}\"\naccess_token = \"{PAGE_TOKEN}\"\n\
         app_secret = \"{APP_SECRET}\"\nverify_token = \"verify-77\"\n"
    )
}

#[test]
fn a_configuration_without_pages_refuses_to_start_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "grpc_addr = \"127.0.0.1:0\"\n");
    let (code, out, err) = run(&crate::bin(), &["--config", file.to_str().unwrap()], &[]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains("no page is configured"), "{err}");
    assert!(
        err.contains("--sandbox"),
        "it says how to try otn instead: {err}"
    );
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("x.db").display());
    let (code, _, err) = run(&crate::bin(), &[], &[("OTN_DATABASE_URL", &url)]);
    assert_ne!(code, 0, "a database URL alone is a configuration: {err}");
}

#[test]
fn check_config_validates_and_redacts_and_migrate_applies_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
    let file = write_config(dir.path(), &config(&url, "http://127.0.0.1:9"));
    let path = file.to_str().unwrap();
    let (code, out, err) = run(&crate::bin(), &["--config", path, "check-config"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("page_id = \"ops-page\""), "{out}");
    assert!(
        !out.contains(PAGE_TOKEN) && !out.contains(APP_SECRET),
        "{out}"
    );
    assert!(out.contains("[redacted]"), "{out}");
    let (code, out, err) = run(&crate::bin(), &["--config", path, "migrate"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("migrations applied"), "{out}");
    // The commented example in the repository is a valid configuration.
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../otn.example.toml");
    let (code, out, err) = run(&crate::bin(), &["--config", example, "check-config"], &[]);
    assert_eq!(code, 0, "otn.example.toml: {err}");
    assert!(
        out.contains("[retention]") && !out.contains("EAAG-replace-me"),
        "{out}"
    );
    let bad = write_config(dir.path(), "[[pages]]\npage_id = \"p\"\n");
    let (code, _, err) = run(
        &crate::bin(),
        &["--config", bad.to_str().unwrap(), "check-config"],
        &[],
    );
    assert_eq!(code, 2, "an invalid configuration: {err}");
}

/// The environment is process-global, so the variables are set on a child process: the real
/// binary reads nested keys from its own environment.
#[test]
fn nested_keys_come_from_the_environment_of_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("e.db").display());
    let file = write_config(dir.path(), &config(&url, "http://127.0.0.1:9"));
    let path = file.to_str().unwrap();
    let (code, out, err) = run(
        &crate::bin(),
        &["--config", path, "check-config"],
        &[
            ("OTN_DISPATCH__BATCH", "7"),
            ("OTN_RETENTION__EVENTS_DAYS", "3"),
            ("OTN_TELEMETRY__SERVICE_NAME", "otn-from-env"),
            ("OTN_MESSENGER__INVALID_TOKEN_SUBCODES", "11,12"),
            ("OTN_LISTENERS__ADMIN__MAX_CONNECTIONS", "9"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let table: toml::Table = out.parse().unwrap();
    let get = |section: &str, key: &str| table[section][key].clone();
    assert_eq!(get("dispatch", "batch").as_integer(), Some(7), "{out}");
    assert_eq!(get("retention", "events_days").as_integer(), Some(3));
    assert_eq!(
        get("telemetry", "service_name").as_str(),
        Some("otn-from-env")
    );
    assert_eq!(
        get("messenger", "invalid_token_subcodes")
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(
        table["listeners"]["admin"]["max_connections"].as_integer(),
        Some(9)
    );

    let (code, _, err) = run(
        &crate::bin(),
        &["--config", path, "check-config"],
        &[("OTN_DISPATCH__BATCH", "EAAG-not-a-number")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("OTN_DISPATCH__BATCH"), "{err}");
    assert!(!err.contains("EAAG"), "the value is never printed: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_made_listed_and_revoked_with_the_binary_and_no_secret_is_ever_logged() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(
        "127.0.0.1:0".parse().unwrap(),
        SimulatorConfig::new(system_clock()),
    )
    .await
    .unwrap();
    sim.add_page(PAGE, PAGE_TOKEN);
    let url = db::fresh_database(dir.path()).await;
    let file = write_config(dir.path(), &config(&url, &sim.base_url()));
    let key = create_key(
        &crate::bin(),
        &file,
        "inventory",
        &["read", "consent", "send"],
    );
    let hash = hex::encode(Sha256::digest(key.rsplit('_').next().unwrap().as_bytes()));
    let server = ServerProcess::with_config(&crate::bin(), &file);
    sim.set_webhook(
        format!("http://{}/webhooks/messenger", server.http_addr),
        APP_SECRET.into(),
    );

    let mut c = connect(&server.url(), Some(&key)).await;
    let grant_token = sim.issue_otn_token(PAGE, "u1");
    c.record_opt_in(pb::RecordOptInRequest {
        page_id: PAGE.into(),
        psid: "u1".into(),
        topic_key: "t".into(),
        token: grant_token.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let webhook_token = sim.user_taps_notify_me(PAGE, "u2", "t").await.unwrap();
    c.send_notification(pb::SendNotificationRequest {
        request_id: "ops".into(),
        page_id: PAGE.into(),
        topic_key: "t".into(),
        content: Some(pb::Content {
            body: Some(pb::content::Body::Text("hi".into())),
        }),
        ..Default::default()
    })
    .await
    .unwrap();
    eventually("both sent", Duration::from_secs(20), || async {
        match sim.accepted_count() {
            2 => Ok(()),
            n => Err(format!("{n}")),
        }
    })
    .await;

    let path = file.to_str().unwrap();
    let (code, listed, _) = run(&crate::bin(), &["--config", path, "api-key", "list"], &[]);
    assert_eq!(code, 0);
    assert!(
        listed.contains("inventory\t") && listed.contains("read,consent,send"),
        "{listed}"
    );
    assert!(
        !listed.contains(&key) && !listed.contains(&hash),
        "{listed}"
    );
    let (code, revoked, _) = run(
        &crate::bin(),
        &["--config", path, "api-key", "revoke", "inventory"],
        &[],
    );
    assert_eq!(code, 0, "{revoked}");
    let err = eventually("revoked", Duration::from_secs(5), || {
        let mut c = c.clone();
        async move {
            match c
                .get_notification(pb::GetNotificationRequest {
                    notification_id: "0190".into(),
                })
                .await
            {
                Err(s) if s.code() == tonic::Code::Unauthenticated => Ok(s),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    assert_eq!(otn_testkit::reason(&err), "API_KEY_INVALID");

    let mut logs = server.log();
    logs.push(listed);
    logs.push(revoked);
    let logged = |l: &&String| {
        l.contains(" rpc ") && l.contains("SendNotification") && l.contains("inventory")
    };
    assert!(
        logs.iter().any(|l| logged(&l)),
        "the mutating call is logged with its caller: {logs:?}"
    );
    for secret in [
        key.as_str(),
        &hash,
        PAGE_TOKEN,
        APP_SECRET,
        &grant_token,
        &webhook_token,
        "verify-77",
    ] {
        let leaked: Vec<&String> = logs.iter().filter(|l| l.contains(secret)).collect();
        assert!(leaked.is_empty(), "{secret} logged: {leaked:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set OTN_TEST_DATABASE_URL and run with -- --include-ignored"]
async fn a_revocation_reaches_every_replica_within_seconds() {
    let url = db::fresh_postgres(&db::require_postgres()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), &config(&url, "http://127.0.0.1:9"));
    let key = create_key(&crate::bin(), &file, "dashboard", &["read"]);
    let a = ServerProcess::with_config(&crate::bin(), &file);
    let b = ServerProcess::with_config(&crate::bin(), &file);
    let list = || pb::ListNotificationsRequest {
        page_id: PAGE.into(),
        ..Default::default()
    };
    let clients = [
        connect(&a.url(), Some(&key)).await,
        connect(&b.url(), Some(&key)).await,
    ];
    for c in &clients {
        c.clone()
            .list_notifications(list())
            .await
            .expect("accepted before");
    }
    let path = file.to_str().unwrap();
    let (code, _, err) = run(
        &crate::bin(),
        &["--config", path, "api-key", "revoke", "dashboard"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let started = std::time::Instant::now();
    for c in &clients {
        eventually("refused on this replica", Duration::from_secs(10), || {
            let mut c = c.clone();
            async move {
                match c.list_notifications(list()).await {
                    Err(s) if s.code() == tonic::Code::Unauthenticated => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            }
        })
        .await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
