//! Credentials an attacker holds: the `api_keys` row of a backup (enough to mint a console
//! session before), a session past its lifetime, a signed-out cookie, and a revoked key whose
//! streams were still open.

use std::time::{Duration, Instant};

use futures::StreamExt;
use hmac::{Hmac, Mac};
use otn::v1 as pb;
use otn_testkit::{World, connect, reason};
use sha2::Sha256;
use tonic::Code;

use crate::console::{SseReader, bearer, get, http, open_session, refusal};

/// A session token as the old scheme signed it: `key_id.expiry.HMAC(secret_sha256, …)`,
/// computed from nothing but the key's database row.
fn forged_from_the_row(key_id: &str, secret_sha256: &str, expiry_ms: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_sha256.as_bytes()).unwrap();
    mac.update(format!("{key_id}|{expiry_ms}").as_bytes());
    let tag = hex::encode(mac.finalize().into_bytes());
    format!("{key_id}.{expiry_ms}.{tag}")
}

#[tokio::test]
async fn a_reader_of_the_database_cannot_mint_a_console_session() {
    let world = World::new().await;
    let app = world.spawn().await;
    let key = world.create_key("ops", &["read", "send"], &[]).await;
    // What a backup of the database holds about the key.
    let db = sea_orm::Database::connect(&world.database_url)
        .await
        .unwrap();
    use sea_orm::{ConnectionTrait, Statement};
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT key_id, secret_sha256 FROM api_keys WHERE name = 'ops'",
        ))
        .await
        .unwrap()
        .unwrap();
    let (key_id, hash): (String, String) = (
        row.try_get("", "key_id").unwrap(),
        row.try_get("", "secret_sha256").unwrap(),
    );
    let ten_years = chrono::Utc::now().timestamp_millis() + 10 * 365 * 86_400_000;
    let url = format!("{}/v1/console/overview", http(&app));
    let forged = format!(
        "otn_session={}",
        forged_from_the_row(&key_id, &hash, ten_years)
    );
    assert_eq!(
        refusal(get(&url, &[("cookie", &forged)]).await).await,
        (401, "API_KEY_INVALID".into())
    );
    // Nor does anything stored in the sessions table open one: only its hash is kept.
    let (set_cookie, cookie) = open_session(&app, &key).await;
    let stored = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id_sha256 FROM console_sessions",
        ))
        .await
        .unwrap()
        .unwrap();
    let hash_of_session: String = stored.try_get("", "id_sha256").unwrap();
    let replayed = format!("otn_session={hash_of_session}");
    assert_eq!(
        refusal(get(&url, &[("cookie", &replayed)]).await).await,
        (401, "API_KEY_INVALID".into())
    );
    assert!(!cookie.contains(&hash_of_session));
    // A session lasts at most 12 hours.
    let max_age: i64 = set_cookie
        .split(';')
        .find_map(|a| a.trim().strip_prefix("Max-Age="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(max_age <= 12 * 3600, "{set_cookie}");
    assert_eq!(get(&url, &[("cookie", &cookie)]).await.status(), 200);
    // Signing out ends the session itself, not only the browser's cookie.
    let out = otn_testkit::meta::http()
        .delete(format!("{}/v1/session", http(&app)))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(
        refusal(get(&url, &[("cookie", &cookie)]).await).await,
        (401, "API_KEY_INVALID".into())
    );
}

#[tokio::test]
async fn a_session_expires_after_twelve_hours_of_the_servers_clock() {
    let world = World::new().await;
    let app = world.spawn().await;
    let (_, cookie) = open_session(&app, &world.key).await;
    let url = format!("{}/v1/console/overview", http(&app));
    assert_eq!(get(&url, &[("cookie", &cookie)]).await.status(), 200);
    world
        .clock
        .advance(chrono::Duration::seconds(12 * 3600 + 1));
    assert_eq!(
        refusal(get(&url, &[("cookie", &cookie)]).await).await,
        (401, "API_KEY_INVALID".into())
    );
}

const CACHE_MS: u64 = 400;

#[tokio::test]
async fn revoking_a_key_ends_its_open_grpc_stream_within_the_key_cache_time() {
    let world = World::new().await;
    let mut app = world.spawn_with(|c| c.api_key_cache_ms = CACHE_MS).await;
    let key = world.create_key("dashboard", &["read"], &[]).await;
    let mut c = connect(&app.url(), Some(&key)).await;
    let mut stream = c
        .stream_delivery_events(pb::StreamDeliveryEventsRequest::default())
        .await
        .unwrap()
        .into_inner();
    app.opt_in("u1", "t", "tok-1").await;
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.event.is_some());
    otn_server::admin::revoke_api_key(&world.database_url, "dashboard")
        .await
        .unwrap();
    let revoked_at = Instant::now();
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.next().await {
                Some(Ok(_)) => continue,
                Some(Err(s)) => return Some(s),
                None => return None,
            }
        }
    })
    .await
    .expect("the stream ended");
    let err = end.expect("with an error, not a clean end");
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(reason(&err), "API_KEY_INVALID");
    // Checked every half cache time with lookups at most that old; a loaded machine gets a
    // second of slack.
    let took = revoked_at.elapsed();
    assert!(
        took < Duration::from_millis(CACHE_MS) + Duration::from_secs(1),
        "{took:?}"
    );
}

#[tokio::test]
async fn revoking_a_key_ends_its_open_sse_stream_within_the_key_cache_time() {
    let world = World::new().await;
    let app = world.spawn_with(|c| c.api_key_cache_ms = CACHE_MS).await;
    let key = world.create_key("wallboard", &["read"], &[]).await;
    let (_, cookie) = open_session(&app, &key).await;
    let url = format!("{}/v1/events", http(&app));
    let mut by_cookie = SseReader::new(get(&url, &[("cookie", &cookie)]).await);
    let mut by_key = SseReader::new(get(&url, &[("authorization", &bearer(&key))]).await);
    otn_server::admin::revoke_api_key(&world.database_url, "wallboard")
        .await
        .unwrap();
    for s in [&mut by_cookie, &mut by_key] {
        let said = loop {
            match s.read(Duration::from_secs(5)).await {
                crate::console::Next::Error(e) => break e,
                crate::console::Next::Event(_) => continue,
                other => panic!("the stream went on after the revocation: {other:?}"),
            }
        };
        assert_eq!(said["reason"], "API_KEY_INVALID", "{said}");
        assert!(matches!(
            s.read(Duration::from_secs(5)).await,
            crate::console::Next::End
        ));
    }
}
