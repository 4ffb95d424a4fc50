//! Fresh databases: a SQLite file in a temporary directory, or a new PostgreSQL database next to
//! the one `OTN_TEST_DATABASE_URL` names.

use sea_orm::ConnectionTrait;

/// The environment variable naming the PostgreSQL server of the tests.
pub const POSTGRES_ENV: &str = "OTN_TEST_DATABASE_URL";

/// The PostgreSQL base URL of the tests, when set.
pub fn postgres_base() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())
}

/// The PostgreSQL base URL for a test that cannot run without it. Such tests are marked
/// `#[ignore = "needs PostgreSQL …"]` so `cargo test` lists them as not run; run with
/// `-- --include-ignored` and the variable set. Without it this fails the test, loudly.
pub fn require_postgres() -> String {
    postgres_base().unwrap_or_else(|| {
        panic!("this test needs PostgreSQL: set {POSTGRES_ENV} (e.g. postgres://postgres@127.0.0.1:5432/otn_test)")
    })
}

/// A fresh database URL: a new PostgreSQL database when the variable is set, else a SQLite file
/// in `dir`.
pub async fn fresh_database(dir: &std::path::Path) -> String {
    match postgres_base() {
        Some(base) => fresh_postgres(&base).await,
        None => fresh_sqlite(dir),
    }
}

/// A SQLite database file in `dir`.
pub fn fresh_sqlite(dir: &std::path::Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        dir.join(format!("otn-{}.db", uuid::Uuid::new_v4().simple()))
            .display()
    )
}

/// Creates a uniquely named PostgreSQL database next to the one `base` names.
pub async fn fresh_postgres(base: &str) -> String {
    let name = format!("otn_t_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(base)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL from {POSTGRES_ENV} must be reachable: {e}"));
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let (prefix, _) = base.rsplit_once('/').expect("database URL has a path");
    format!("{prefix}/{name}")
}

/// Every backend a repository test runs on: SQLite always, PostgreSQL when set.
pub async fn backends(dir: &std::path::Path) -> Vec<String> {
    let mut urls = vec![fresh_sqlite(dir)];
    if let Some(base) = postgres_base() {
        urls.push(fresh_postgres(&base).await);
    }
    urls
}
