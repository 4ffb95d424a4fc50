//! Configuration loading: sources in order, secrets from files and the environment, the sandbox rule.
use super::*;

fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn defaults_apply_without_any_source() {
    let c = Config::load(&Overrides::default(), env_of(&[])).unwrap();
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
        env_of(&[
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
    let err = Config::load(&flags, env_of(&[])).unwrap_err();
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
    let c = Config::load(&flags, env_of(&[("APP_SECRET_P1", "s-from-env")])).unwrap();
    assert_eq!(c.pages[0].access_token.expose(), "EAAG-from-file");
    assert_eq!(c.pages[0].app_secret.expose(), "s-from-env");
    assert!(!format!("{c:?}").contains("from-file"));

    let missing = Config::load(&flags, env_of(&[])).unwrap_err();
    assert!(missing.contains("APP_SECRET_P1 is not set"), "{missing}");
    let twice = page_file(
        dir.path(),
        "access_token = \"a\"\naccess_token_env = \"X\"\napp_secret = \"s\"\nverify_token = \"v\"\n",
    );
    let err = Config::load(&twice, env_of(&[("X", "x")])).unwrap_err();
    assert!(err.contains("give one of access_token"), "{err}");
}

#[test]
fn the_sandbox_runs_only_without_any_configuration_or_when_asked_for() {
    let bare = Config::load(&Overrides::default(), env_of(&[])).unwrap();
    assert_eq!(bare.runs_sandbox(), Ok(true), "the README's first command");

    let db = Overrides {
        database_url: Some("postgres://db.internal/otn".into()),
        ..Default::default()
    };
    let c = Config::load(&db, env_of(&[])).unwrap();
    let err = c.runs_sandbox().unwrap_err();
    assert!(err.contains("no page is configured"), "{err}");
    let by_env = Config::load(&Overrides::default(), env_of(&[("OTN_DATABASE_URL", "x")])).unwrap();
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
        Config::load(&asked, env_of(&[])).unwrap().runs_sandbox(),
        Ok(true)
    );
    let by_var = Config::load(&sqlite, env_of(&[("OTN_SANDBOX", "1")])).unwrap();
    assert_eq!(by_var.runs_sandbox(), Ok(true));
    let on_postgres = Config::load(&db, env_of(&[("OTN_SANDBOX", "1")])).unwrap();
    assert!(on_postgres.runs_sandbox().is_err());

    let dir = tempfile::tempdir().unwrap();
    let with_page = page_file(
        dir.path(),
        "access_token = \"a\"\napp_secret = \"s\"\nverify_token = \"v\"\n",
    );
    let c = Config::load(&with_page, env_of(&[])).unwrap();
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
    let err = Config::load(&flags, env_of(&[])).unwrap_err();
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
    let err = Config::load(&flags, env_of(&[])).unwrap_err();
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
        env_of(&[]),
    )
    .unwrap();
    let err = c.runs_sandbox().unwrap_err();
    assert!(err.contains("SQLite"), "{err}");
    let c = Config::load(
        &Overrides {
            sandbox: true,
            ..Default::default()
        },
        env_of(&[]),
    )
    .unwrap();
    assert_eq!(c.runs_sandbox(), Ok(true));
}
