//! The store's tests, one suite run once per backend (`on_both_backends!`): on SQLite always, and
//! on PostgreSQL with `OTN_TEST_DATABASE_URL` and `--include-ignored` (a test that needs
//! PostgreSQL is `#[ignore]`d with that reason, so it is listed, never silently passed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Runs each named test of the suite once per backend: `sqlite::<name>` always, and
/// `postgres::<name>` on a fresh PostgreSQL database (ignored — listed, never silently passed —
/// unless run with `-- --include-ignored` and `OTN_TEST_DATABASE_URL` set). A test is an
/// `async fn name(url: String)` taking its database's URL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    super::$name(otn_testkit::db::fresh_sqlite(dir.path())).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                #[ignore = "needs PostgreSQL: set OTN_TEST_DATABASE_URL and run with -- --include-ignored"]
                async fn $name() {
                    let base = otn_testkit::db::require_postgres();
                    super::$name(otn_testkit::db::fresh_postgres(&base).await).await;
                }
            )*
        }
    };
}

mod echoes;
mod funnel;
mod interleavings;
mod pacing;
mod polite;
mod repository;
mod stream;
