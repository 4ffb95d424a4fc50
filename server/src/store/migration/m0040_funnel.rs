//! The funnel's maintained counts (issue 22): `funnel_days` holds, per page, topic, UTC day and
//! step, how many events counted toward the step — once over the whole topic (`notification_id`
//! empty) and once per notification. The transaction that appends events adds to it (see
//! `store/funnel.rs`), so reads never walk the log. It holds no personal field, so erasure and
//! retention leave it as it is.
//!
//! Also: ENGAGED events say what the person did (`events.interaction`), a delivery remembers
//! when its tracked link was first opened (`deliveries.clicked_at`), and active grants are found
//! by expiry (the expiry sweep). The counts start from what the log and the opt-in requests
//! still hold when this migration runs (a one-time pass; before this version ENGAGED events did
//! not say which interaction they were, so they count as messages).

use sea_orm_migration::prelude::*;

use super::run;
use crate::domain::funnel::{DAY_MS, FunnelStep};
use crate::domain::vocab::{EventKind, GrantState};
use crate::store::codes::Code;

pub(super) struct M0040Funnel;

impl MigrationName for M0040Funnel {
    fn name(&self) -> &str {
        "m0040_funnel"
    }
}

/// The step each kind of event counted toward before this version (one each).
fn kind_steps() -> Vec<(EventKind, FunnelStep)> {
    use EventKind as K;
    use FunnelStep as S;
    vec![
        (K::OptInRecorded, S::OptedIn),
        (K::GrantAssigned, S::OptedIn),
        (K::GrantConsumed, S::GrantUsed),
        (K::Queued, S::Queued),
        (K::Sent, S::Sent),
        (K::Delivered, S::Delivered),
        (K::Read, S::Read),
        (K::Engaged, S::EngagedMessage),
        (K::Failed, S::Failed),
        (K::Unconfirmed, S::Unconfirmed),
        (K::Cancelled, S::Cancelled),
        (K::GrantStopped, S::GrantStopped),
        (K::GrantResumed, S::GrantResumed),
        (K::GrantRevoked, S::GrantRevoked),
    ]
}

/// The one-time pass over what the log still holds (see the module comment).
fn backfill() -> String {
    let case: String = kind_steps()
        .iter()
        .map(|(k, s)| format!(" WHEN {} THEN {}", k.code(), s.code()))
        .collect();
    let step = format!("CASE kind{case} END");
    let (engaged, delivered, read) = (
        EventKind::Engaged.code(),
        EventKind::Delivered.code(),
        EventKind::Read.code(),
    );
    let (s_engaged, s_delivered, s_requested) = (
        FunnelStep::Engaged.code(),
        FunnelStep::Delivered.code(),
        FunnelStep::OptInRequested.code(),
    );
    // Per topic (nid '') and per notification, each step; every ENGAGED was the first engagement
    // of its delivery (there were no clicks); a delivery read without a delivery receipt was
    // delivered too; opt-in requests Meta accepted.
    let logged = "FROM events WHERE seq IS NOT NULL AND topic_key IS NOT NULL";
    let read_only = format!(
        "(SELECT MIN(page_id) AS page_id, MIN(topic_key) AS topic_key, \
         MIN(notification_id) AS notification_id, MIN(at) AS at {logged} \
         AND delivery_id IS NOT NULL AND kind IN ({delivered}, {read}) GROUP BY delivery_id \
         HAVING SUM(CASE WHEN kind = {delivered} THEN 1 ELSE 0 END) = 0) r"
    );
    format!(
        "INSERT INTO funnel_days (page_id, topic_key, notification_id, day, step, n) \
         SELECT page_id, topic_key, nid, day, step, SUM(n) FROM ( \
           SELECT page_id, topic_key, '' AS nid, at / {DAY_MS} AS day, {step} AS step, \
             COUNT(*) AS n {logged} GROUP BY page_id, topic_key, at / {DAY_MS}, {step} \
           UNION ALL \
           SELECT page_id, topic_key, notification_id, at / {DAY_MS}, {step}, COUNT(*) \
             {logged} AND notification_id IS NOT NULL \
             GROUP BY page_id, topic_key, notification_id, at / {DAY_MS}, {step} \
           UNION ALL \
           SELECT page_id, topic_key, '', at / {DAY_MS}, {s_engaged}, COUNT(*) \
             {logged} AND kind = {engaged} GROUP BY page_id, topic_key, at / {DAY_MS} \
           UNION ALL \
           SELECT page_id, topic_key, notification_id, at / {DAY_MS}, {s_engaged}, COUNT(*) \
             {logged} AND kind = {engaged} AND notification_id IS NOT NULL \
             GROUP BY page_id, topic_key, notification_id, at / {DAY_MS} \
           UNION ALL \
           SELECT page_id, topic_key, '', at / {DAY_MS}, {s_delivered}, COUNT(*) \
             FROM {read_only} GROUP BY page_id, topic_key, at / {DAY_MS} \
           UNION ALL \
           SELECT page_id, topic_key, notification_id, at / {DAY_MS}, {s_delivered}, COUNT(*) \
             FROM {read_only} WHERE notification_id IS NOT NULL \
             GROUP BY page_id, topic_key, notification_id, at / {DAY_MS} \
           UNION ALL \
           SELECT o.page_id, t.topic_key, '', o.sent_at / {DAY_MS}, {s_requested}, COUNT(*) \
             FROM opt_in_requests o JOIN topics t ON t.id = o.topic_id \
             WHERE o.sent_at IS NOT NULL \
             GROUP BY o.page_id, t.topic_key, o.sent_at / {DAY_MS} \
         ) x WHERE step IS NOT NULL GROUP BY page_id, topic_key, nid, day, step"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for M0040Funnel {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let active = GrantState::Active.code();
        let expiry = format!(
            "CREATE INDEX grants_active_expiry ON grants (expires_at) \
             WHERE state = {active} AND expires_at IS NOT NULL"
        );
        run(
            manager,
            &[
                "CREATE TABLE funnel_days (
                    page_id TEXT NOT NULL,
                    topic_key TEXT NOT NULL,
                    notification_id TEXT NOT NULL,
                    day BIGINT NOT NULL,
                    step INTEGER NOT NULL,
                    n BIGINT NOT NULL,
                    PRIMARY KEY (page_id, topic_key, notification_id, day, step))",
                "CREATE INDEX funnel_days_notification ON funnel_days (notification_id, day) \
                 WHERE notification_id <> ''",
                "ALTER TABLE events ADD COLUMN interaction INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE deliveries ADD COLUMN clicked_at BIGINT NULL",
                &expiry,
                &backfill(),
            ],
        )
        .await
    }
}
