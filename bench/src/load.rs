//! Bulk loading straight into the tables (recipients, topics, grants, recipient_tags) with multi-row INSERTs: loading through RecordOptIn would take far longer than the measurements.

use std::time::Instant;

use anyhow::{Context, Result};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, TransactionTrait};

/// Rows per INSERT statement.
const ROWS_PER_INSERT: usize = 1000;
/// INSERT statements per transaction.
const INSERTS_PER_TXN: usize = 50;
const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;
/// `GrantState::Active` and `GrantState::Consumed` as stored.
pub(crate) const ACTIVE: i32 = 1;
pub(crate) const CONSUMED: i32 = 3;

/// What to load: `n` people `{psid_prefix}{i:07}` of `page`, each holding one one-time grant on
/// `topic_key` (with `tokens[i]` when given, else a unique synthetic token).
#[derive(Debug, Clone)]
pub(crate) struct Grants<'a> {
    pub page: &'a str,
    pub topic_key: &'a str,
    pub psid_prefix: &'a str,
    pub n: usize,
    pub tokens: Option<&'a [String]>,
    /// Every tenth grant consumed instead of active (the ListEligible data set).
    pub mixed_states: bool,
    /// Tags `seg-{i % 8}` for everyone and `vip` for every tenth person.
    pub tags: bool,
}

/// What a load did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loaded {
    pub topic_id: i64,
    pub seconds: f64,
    pub rows: usize,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Loads `spec` and returns the topic id. On PostgreSQL the recipients sequence is moved past
/// the loaded ids and the tables are ANALYZEd (autovacuum would do so in production); SQLite
/// is left as the server leaves it (never ANALYZEd).
pub(crate) async fn grants(db: &DatabaseConnection, spec: &Grants<'_>) -> Result<Loaded> {
    let t = Instant::now();
    let now = chrono::Utc::now().timestamp_millis();
    db.execute_unprepared(&format!(
        "INSERT INTO topics (page_id, topic_key, title, created_at) VALUES ({}, {}, {}, {now})",
        quote(spec.page),
        quote(spec.topic_key),
        quote(spec.topic_key)
    ))
    .await
    .context("inserting the topic")?;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT id FROM topics WHERE page_id = {} AND topic_key = {}",
                quote(spec.page),
                quote(spec.topic_key)
            ),
        ))
        .await?
        .context("the topic just inserted")?;
    let topic_id: i64 = row.try_get("", "id")?;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COALESCE(MAX(id), 0) AS m FROM recipients".to_string(),
        ))
        .await?
        .context("max recipient id")?;
    let base: i64 = row.try_get("", "m")?;
    let token_prefix = format!(
        "bench-{}-",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let mut rows = 0;
    let chunks: Vec<(usize, usize)> = (0..spec.n)
        .step_by(ROWS_PER_INSERT)
        .map(|s| (s, (s + ROWS_PER_INSERT).min(spec.n)))
        .collect();
    for txn_chunks in chunks.chunks(INSERTS_PER_TXN) {
        let txn = db.begin().await?;
        for &(lo, hi) in txn_chunks {
            let mut recipients = String::from(
                "INSERT INTO recipients (id, page_id, psid, region, last_interaction_at, created_at) VALUES ",
            );
            let mut grants = String::from(
                "INSERT INTO grants (page_id, recipient_id, topic_id, kind, token, payload, \
                 opted_in_at, expires_at, state, state_changed_at, last_sent_at, created_at) VALUES ",
            );
            let mut tags = String::from("INSERT INTO recipient_tags (recipient_id, tag) VALUES ");
            for i in lo..hi {
                let id = base + 1 + i as i64;
                let sep = if i == lo { "" } else { ", " };
                let psid = format!("{}{i:07}", spec.psid_prefix);
                recipients.push_str(&format!(
                    "{sep}({id}, {}, {}, NULL, NULL, {now})",
                    quote(spec.page),
                    quote(&psid)
                ));
                let token = match spec.tokens.and_then(|t| t.get(i)) {
                    Some(t) => t.clone(),
                    None => format!("{token_prefix}{i}"),
                };
                // Older opt-ins first, one second apart.
                let opted = now - (spec.n - i) as i64 * 1000;
                let state = if spec.mixed_states && i % 10 == 9 {
                    CONSUMED
                } else {
                    ACTIVE
                };
                grants.push_str(&format!(
                    "{sep}({}, {id}, {topic_id}, 1, {}, '', {opted}, {}, {state}, {now}, NULL, {now})",
                    quote(spec.page),
                    quote(&token),
                    opted + YEAR_MS
                ));
                if spec.tags {
                    tags.push_str(&format!("{sep}({id}, 'seg-{}')", i % 8));
                    if i % 10 == 0 {
                        tags.push_str(&format!(", ({id}, 'vip')"));
                    }
                }
                rows += 1;
            }
            txn.execute_unprepared(&recipients)
                .await
                .context("loading recipients")?;
            txn.execute_unprepared(&grants)
                .await
                .context("loading grants")?;
            if spec.tags {
                txn.execute_unprepared(&tags)
                    .await
                    .context("loading tags")?;
            }
        }
        txn.commit().await?;
    }
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('recipients', 'id'), (SELECT MAX(id) FROM recipients))",
        )
        .await?;
        db.execute_unprepared("ANALYZE recipients, recipient_tags, topics, grants")
            .await?;
    }
    Ok(Loaded {
        topic_id,
        seconds: t.elapsed().as_secs_f64(),
        rows,
    })
}

/// `SELECT COUNT(*)` of grants on a topic in a state.
pub(crate) async fn count_grants(
    db: &DatabaseConnection,
    topic_id: i64,
    state: i32,
) -> Result<i64> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT COUNT(*) AS n FROM grants WHERE topic_id = {topic_id} AND state = {state}"
            ),
        ))
        .await?
        .context("count")?;
    Ok(row.try_get("", "n")?)
}
