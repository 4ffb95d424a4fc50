//! otn-testkit: the one harness of every test crate: a fresh database per test (SQLite, or
//! PostgreSQL when `OTN_TEST_DATABASE_URL` is set), the service in-process on 127.0.0.1:0 with a
//! Messenger simulator and a controllable clock, real `otn-server` processes, typed clients, an
//! [`eventually`] helper, webhook bodies shaped as Meta sends them, and the shared validation
//! cases.

mod app;
pub mod books;
mod calls;
pub mod cases;
pub mod db;
pub mod meta;
pub mod process;
pub mod tls;

use std::future::Future;
use std::time::{Duration, Instant};

pub use app::{
    ALL_SCOPES, Bearer, Client, PAGE, TestApp, World, connect, create_key, reason, spawn_app,
    spawn_with, violated_fields,
};

/// Polls `probe` until it gives `Some`, or fails the test after `within` naming `what` and the
/// last value seen.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_millis(5);
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: not reached within {within:?}; last seen: {last}")
            }
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        }
    }
}
