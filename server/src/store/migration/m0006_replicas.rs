//! What several replicas share through the database: a pending count per notification (it
//! completes in the transaction that records its last outcome), a send-slot clock and a pause
//! per page (one rate and one pause across replicas), the call start of each delivery and the
//! latest watermarks per person (receipts compared on Meta's clock), and an event log numbered
//! by a sequencer after commit (writers no longer queue on one counter row).

use sea_orm_migration::prelude::*;

use super::run;
use crate::domain::vocab::{DeliveryState, NotificationState};
use crate::store::codes::Code;

pub(super) struct M0006Replicas;

impl MigrationName for M0006Replicas {
    fn name(&self) -> &str {
        "m0006_replicas"
    }
}

fn list(words: &[impl Code + PartialEq]) -> String {
    words
        .iter()
        .map(|w| w.code().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

const EVENT_COLUMNS: &str = "at, kind, page_id, topic_key, notification_id, delivery_id, psid, \
     grant_id, message_id, path, rule, failure, actor";

#[async_trait::async_trait]
impl MigrationTrait for M0006Replicas {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let unfinished = list(&[DeliveryState::Queued, DeliveryState::Sending]);
        let open = list(&[NotificationState::Scheduled, NotificationState::Dispatching]);
        let (queued, sending) = (DeliveryState::Queued.code(), DeliveryState::Sending.code());
        let completed = NotificationState::Completed.code();
        let pending = format!(
            "UPDATE notifications SET pending = (SELECT COUNT(*) FROM deliveries d \
             WHERE d.notification_id = notifications.id AND d.state IN ({unfinished}))"
        );
        // Notifications left DISPATCHING with every delivery final (the race this fixes).
        let stuck = format!(
            "UPDATE notifications SET state = {completed}, completed_at = created_at \
             WHERE state IN ({open}) AND pending = 0"
        );
        let due = format!(
            "CREATE INDEX deliveries_page_due ON deliveries (page_id, next_attempt_at, id) \
             WHERE state = {queued}"
        );
        let leased = format!(
            "CREATE INDEX deliveries_page_leased ON deliveries (page_id, lease_until) \
             WHERE state = {sending}"
        );
        let copy = format!(
            "INSERT INTO events_sequenced (seq, {EVENT_COLUMNS}) \
             SELECT seq, {EVENT_COLUMNS} FROM events ORDER BY seq"
        );
        run(
            manager,
            &[
                "ALTER TABLE notifications ADD COLUMN pending BIGINT NOT NULL DEFAULT 0",
                &pending,
                &stuck,
                "ALTER TABLE deliveries ADD COLUMN attempt_started_at BIGINT",
                "ALTER TABLE deliveries ADD COLUMN first_attempt_at BIGINT",
                "ALTER TABLE recipients ADD COLUMN delivered_watermark BIGINT",
                "ALTER TABLE recipients ADD COLUMN read_watermark BIGINT",
                "ALTER TABLE pages ADD COLUMN next_slot_us BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE pages ADD COLUMN paused_until BIGINT",
                &due,
                &leased,
                "CREATE TABLE events_sequenced (
                    id {pk},
                    seq BIGINT,
                    at BIGINT NOT NULL,
                    kind INTEGER NOT NULL,
                    page_id TEXT NOT NULL,
                    topic_key TEXT,
                    notification_id TEXT,
                    delivery_id TEXT,
                    psid TEXT,
                    grant_id BIGINT,
                    message_id TEXT,
                    path INTEGER NOT NULL,
                    rule TEXT,
                    failure TEXT,
                    actor TEXT)",
                &copy,
                "DROP TABLE events",
                "ALTER TABLE events_sequenced RENAME TO events",
                "CREATE UNIQUE INDEX events_seq ON events (seq)",
                "CREATE INDEX events_unsequenced ON events (id) WHERE seq IS NULL",
                "ALTER TABLE event_counter ADD COLUMN pruned_through BIGINT NOT NULL DEFAULT 0",
            ],
        )
        .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "m0006_replicas renumbers the event log; it is not reversible".into(),
        ))
    }
}
