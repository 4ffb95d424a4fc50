//! Send slots of a slow claim: the slots a claim hands out start after its own work, so a claim
//! held up (here by another replica's lock on its notification's row) never returns slots that
//! are already missed (each would be requeued unsent, and a database that slow would requeue a
//! whole fan-out forever). PostgreSQL only: on SQLite a claim waits for the one writer before
//! it starts, so nothing can hold it up halfway.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, TransactionTrait};

use super::interleavings::{open, queued};

/// How long the claim is held up.
const HELD: Duration = Duration::from_millis(300);
/// How late a send may leave (the dispatcher's default `max_lateness_ms`), µs.
const MAX_LATENESS_US: i64 = 20_000;

#[tokio::test]
#[ignore = "needs PostgreSQL: set OTN_TEST_DATABASE_URL and run with -- --include-ignored"]
async fn a_claim_held_up_hands_out_slots_that_start_after_it() {
    let url = otn_testkit::db::fresh_postgres(&otn_testkit::db::require_postgres()).await;
    let store = open(&url).await;
    let other = open(&url).await;
    let id = queued(&store, 3).await;
    // The other replica holds the notification's row; the claim marks it DISPATCHING, so
    // it waits halfway, after it has read the clock and claimed the deliveries.
    let held = other.db().begin().await.unwrap();
    let lock = Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "SELECT id FROM notifications WHERE id = $1 FOR UPDATE",
        [id.into()],
    );
    held.execute_raw(lock).await.unwrap();
    let claiming = {
        let store = store.clone();
        tokio::spawn(async move {
            let claim = store
                .claim_page("p", 1_000, 1_000_000, 3, 60_000, 1_000)
                .await;
            (claim, store.clock_us(store.db()).await)
        })
    };
    tokio::time::sleep(HELD).await;
    held.commit().await.unwrap();
    let (claim, after) = claiming.await.unwrap();
    let (claim, after) = (claim.unwrap(), after.unwrap());
    assert_eq!(claim.claimed.len(), 3);
    let first = claim.slots_us[0];
    assert!(
        first + MAX_LATENESS_US >= after,
        "the first slot is {} ms before the claim returned",
        (after - first) / 1000
    );
}
