//! Configuration loading: sources in order, secrets from files and the environment, the sandbox rule.
use super::*;

fn env_of(vars: &'static [(&'static str, &'static str)]) -> Env {
    vars.iter().copied().collect()
}

#[test]
fn defaults_apply_without_any_source() {
    let c = Config::load(&Overrides::default(), &env_of(&[])).unwrap();
    assert_eq!(c.grpc_addr.to_string(), "127.0.0.1:50051");
    assert_eq!(c.http_addr.to_string(), "127.0.0.1:8080");
    assert!(c.pages.is_empty());
    // Current since 2026-11-04 (v23.0 is served until 2027-10-08).
    assert_eq!(c.graph_api_version, "v27.0");
}

#[test]
fn file_then_env_then_flags_win_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("otn.toml");
    std::fs::write(
        &path,
        "grpc_addr = \"127.0.0.1:1\"\nhttp_addr = \"127.0.0.1:2\"\n\
         [[pages]]\npage_id = \"p1\"\naccess_token = \"pagetoken-7f3a\"\napp_secret = \"s\"\nverify_token = \"v\"\n",
    )
    .unwrap();
    let flags = Overrides {
        config_file: Some(path),
        http_addr: Some("127.0.0.1:4".into()),
        ..Default::default()
    };
    let c = Config::load(
        &flags,
        &env_of(&[
            ("OTN_GRPC_ADDR", "127.0.0.1:3"),
            ("OTN_HTTP_ADDR", "127.0.0.1:5"),
        ]),
    )
    .unwrap();
    assert_eq!(c.grpc_addr.port(), 3);
    assert_eq!(c.http_addr.port(), 4);
    assert_eq!(c.pages[0].rate_limit_per_sec, 300);
    assert!(!format!("{c:?}").contains("pagetoken-7f3a"));
}

#[test]
fn unknown_keys_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("otn.toml");
    std::fs::write(&path, "grpc_adr = \"127.0.0.1:1\"\n").unwrap();
    let flags = Overrides {
        config_file: Some(path),
        ..Default::default()
    };
    let err = Config::load(&flags, &env_of(&[])).unwrap_err().to_string();
    assert!(err.contains("grpc_adr"), "{err}");
}

fn page_file(dir: &std::path::Path, page: &str) -> Overrides {
    let path = dir.join("otn.toml");
    std::fs::write(&path, format!("[[pages]]\npage_id = \"p1\"\n{page}")).unwrap();
    Overrides {
        config_file: Some(path),
        ..Default::default()
    }
}

#[test]
fn page_secrets_come_from_a_file_or_a_variable_instead_of_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("token");
    std::fs::write(&secret, "EAAG-from-file\n").unwrap();
    let flags = page_file(
        dir.path(),
        &format!(
            "access_token_file = \"{}\"\napp_secret_env = \"APP_SECRET_P1\"\nverify_token = \"v\"\n",
            secret.display()
        ),
    );
    let c = Config::load(&flags, &env_of(&[("APP_SECRET_P1", "s-from-env")])).unwrap();
    assert_eq!(c.pages[0].access_token.expose(), "EAAG-from-file");
    assert_eq!(c.pages[0].app_secret.expose(), "s-from-env");
    assert!(!format!("{c:?}").contains("from-file"));

    let missing = Config::load(&flags, &env_of(&[])).unwrap_err().to_string();
    assert!(missing.contains("APP_SECRET_P1 is not set"), "{missing}");
    let twice = page_file(
        dir.path(),
        "access_token = \"a\"\naccess_token_env = \"X\"\napp_secret = \"s\"\nverify_token = \"v\"\n",
    );
    let err = Config::load(&twice, &env_of(&[("X", "x")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("give one of access_token"), "{err}");
}

#[test]
fn the_sandbox_runs_only_without_any_configuration_or_when_asked_for() {
    let bare = Config::load(&Overrides::default(), &env_of(&[])).unwrap();
    assert_eq!(bare.runs_sandbox(), Ok(true), "the README's first command");

    let db = Overrides {
        database_url: Some("postgres://db.internal/otn".into()),
        ..Default::default()
    };
    let c = Config::load(&db, &env_of(&[])).unwrap();
    let err = c.runs_sandbox().unwrap_err().to_string();
    assert!(err.contains("no page is configured"), "{err}");
    let by_env =
        Config::load(&Overrides::default(), &env_of(&[("OTN_DATABASE_URL", "x")])).unwrap();
    assert!(by_env.runs_sandbox().is_err());

    // Asked for, on its own embedded file: yes; on a real database: never (it takes no keys).
    let sqlite = Overrides {
        database_url: Some("sqlite://sandbox.db?mode=rwc".into()),
        ..Default::default()
    };
    let asked = Overrides {
        sandbox: true,
        ..sqlite.clone()
    };
    assert_eq!(
        Config::load(&asked, &env_of(&[])).unwrap().runs_sandbox(),
        Ok(true)
    );
    let by_var = Config::load(&sqlite, &env_of(&[("OTN_SANDBOX", "1")])).unwrap();
    assert_eq!(by_var.runs_sandbox(), Ok(true));
    let on_postgres = Config::load(&db, &env_of(&[("OTN_SANDBOX", "1")])).unwrap();
    assert!(on_postgres.runs_sandbox().is_err());

    let dir = tempfile::tempdir().unwrap();
    let with_page = page_file(
        dir.path(),
        "access_token = \"a\"\napp_secret = \"s\"\nverify_token = \"v\"\n",
    );
    let c = Config::load(&with_page, &env_of(&[])).unwrap();
    assert_eq!(c.runs_sandbox(), Ok(false));
}

#[test]
fn a_syntax_error_names_its_line_but_never_prints_the_secret_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("otn.toml");
    std::fs::write(
        &path,
        "[[pages]]\npage_id = \"p1\"\naccess_token = \"EAAGm0PX4ZCpsBAtopsecret\napp_secret = \"s\"\n",
    )
    .unwrap();
    let flags = Overrides {
        config_file: Some(path),
        ..Default::default()
    };
    let err = Config::load(&flags, &env_of(&[])).unwrap_err().to_string();
    assert!(err.contains("line 3"), "{err}");
    assert!(!err.contains("topsecret"), "the token leaked: {err}");
}

#[test]
fn a_type_error_hides_the_value_but_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("otn.toml");
    std::fs::write(&path, "api_key_cache_ms = \"sekrit-value\"\n").unwrap();
    let flags = Overrides {
        config_file: Some(path),
        ..Default::default()
    };
    let err = Config::load(&flags, &env_of(&[])).unwrap_err().to_string();
    assert!(!err.contains("sekrit-value"), "{err}");
    assert!(err.contains("***"), "{err}");
}

#[test]
fn the_sandbox_never_runs_on_postgresql() {
    let c = Config::load(
        &Overrides {
            sandbox: true,
            database_url: Some("postgres://otn@db/otn".into()),
            ..Default::default()
        },
        &env_of(&[]),
    )
    .unwrap();
    let err = c.runs_sandbox().unwrap_err().to_string();
    assert!(err.contains("SQLite"), "{err}");
    let c = Config::load(
        &Overrides {
            sandbox: true,
            ..Default::default()
        },
        &env_of(&[]),
    )
    .unwrap();
    assert_eq!(c.runs_sandbox(), Ok(true));
}

#[test]
fn every_section_can_be_set_from_the_environment_with_nested_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("otn.toml");
    std::fs::write(
        &path,
        "[dispatch]\nbatch = 10\nconcurrency = 3\n[retention]\nevents_days = 5\n",
    )
    .unwrap();
    let flags = Overrides {
        config_file: Some(path),
        ..Default::default()
    };
    let c = Config::load(
        &flags,
        &env_of(&[
            ("OTN_DISPATCH__BATCH", "64"),
            ("OTN_RETENTION__ENABLED", "false"),
            ("OTN_TELEMETRY__OTLP_ENDPOINT", "http://collector:4317"),
            ("OTN_TELEMETRY__SAMPLE_RATIO", "0.25"),
            ("OTN_TELEMETRY__SERVICE_NAME", "42"),
            ("OTN_MESSENGER__SPENT_TOKEN_SUBCODES", "2018310,2018001"),
            ("OTN_LISTENERS__GRPC__MAX_CONNECTIONS", "12"),
            ("OTN_API_KEY_CACHE_MS", "500"),
            ("OTN_GRAPH_API_VERSION", "v28.0"),
            // Not configuration: the clients' and the tests' variables are not read.
            ("OTN_URL", "http://127.0.0.1:50051"),
            ("OTN_API_KEY", "otn_x_y"),
            ("OTN_TEST_DATABASE_URL", "postgres://x"),
            ("OTN_CONFIG", "ignored-as-flags-win"),
        ]),
    )
    .unwrap();
    assert_eq!(c.dispatch.batch, 64, "the environment wins over the file");
    assert_eq!(c.dispatch.concurrency, 3, "the file's other keys stay");
    assert!(!c.retention.enabled);
    assert_eq!(c.retention.events_days, 5);
    assert_eq!(
        c.telemetry.otlp_endpoint.as_deref(),
        Some("http://collector:4317")
    );
    assert_eq!(c.telemetry.sample_ratio, 0.25);
    assert_eq!(
        c.telemetry.service_name, "42",
        "a number where a string is wanted"
    );
    assert_eq!(c.messenger.spent_token_subcodes, vec![2018310, 2018001]);
    assert_eq!(c.listeners.grpc.max_connections, 12);
    assert_eq!(c.listeners.http.max_connections, 256);
    assert_eq!(c.api_key_cache_ms, 500);
    assert_eq!(c.graph_api_version, "v28.0");
}

#[test]
fn a_wrong_variable_is_named_without_its_value() {
    let err = Config::load(
        &Overrides::default(),
        &env_of(&[("OTN_DISPATCH__BATCH", "sekrit-batch")]),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::Type { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("OTN_DISPATCH__BATCH"), "{text}");
    assert!(!text.contains("sekrit"), "{text}");

    let err = Config::load(
        &Overrides::default(),
        &env_of(&[("OTN_DISPATCH__BACH", "sekrit-typo")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("bach"),
        "an unknown nested key is refused: {err}"
    );
    assert!(!err.contains("sekrit"), "{err}");

    let err = Config::load(
        &Overrides::default(),
        &env_of(&[("OTN_GRPC_ADDR", "sekrit-not-an-address")]),
    )
    .unwrap_err()
    .to_string();
    assert!(!err.contains("sekrit"), "{err}");
}
