//! PostgreSQL LISTEN: wakes this replica's subscribers and pumps for every replica's commits.

use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::bus::{EventBus, PG_APPENDED, PG_SEQUENCED};
use super::is_postgres;

/// The first reconnect delay; it doubles per failed attempt up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest reconnect delay.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Starts the listener task on PostgreSQL (`None` on SQLite, where every writer is in this
/// process and `WriteTxn::commit` wakes the bus itself). The task wakes the bus for every
/// notification, and wakes both of its wake-ups after each (re)connection because notifications
/// sent while it was not listening are lost; it reconnects with backoff and stops when
/// `shutdown` is cancelled.
pub(crate) fn spawn(
    database_url: String,
    bus: EventBus,
    shutdown: CancellationToken,
) -> Option<JoinHandle<()>> {
    if !is_postgres(&database_url) {
        return None;
    }
    Some(tokio::spawn(run(database_url, bus, shutdown)))
}

async fn run(url: String, bus: EventBus, shutdown: CancellationToken) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let error = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            e = session(&url, &bus, &mut backoff) => e,
        };
        tracing::warn!(
            error = %error,
            retry_in_ms = backoff.as_millis() as u64,
            "event listener lost PostgreSQL; reconnecting"
        );
        // Sequencers and subscribers re-read on a wake-up; one now costs little and shortens
        // the gap.
        wake_all(&bus);
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Listens until an error, which it returns.
async fn session(url: &str, bus: &EventBus, backoff: &mut Duration) -> sea_orm::sqlx::Error {
    let mut listener = match PgListener::connect(url).await {
        Ok(l) => l,
        Err(e) => return e,
    };
    if let Err(e) = listener.listen_all([PG_APPENDED, PG_SEQUENCED]).await {
        return e;
    }
    *backoff = MIN_BACKOFF;
    tracing::debug!("event listener listening");
    // Whatever was committed before LISTEN took effect was not announced to us.
    wake_all(bus);
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) if n.channel() == PG_APPENDED => bus.legacy_appended.wake(),
            Ok(Some(_)) => bus.committed.wake(),
            // The connection dropped and was re-established (LISTEN included); notifications
            // of the gap are lost, so wake everyone to re-read the log.
            Ok(None) => wake_all(bus),
            Err(e) => return e,
        }
    }
}

fn wake_all(bus: &EventBus) {
    bus.committed.wake();
    bus.legacy_appended.wake();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_postgres_urls_get_a_listener() {
        assert!(is_postgres("postgres://u@h/db"));
        assert!(is_postgres("postgresql://u@h/db"));
        assert!(!is_postgres("sqlite://otn.db?mode=rwc"));
    }

    #[tokio::test]
    async fn sqlite_gets_no_task() {
        let h = spawn(
            "sqlite::memory:".into(),
            EventBus::new(),
            CancellationToken::new(),
        );
        assert!(h.is_none());
    }
}
