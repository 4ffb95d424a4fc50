//! Notifications and their deliveries (the durable dispatch queue).

use sea_orm_migration::prelude::*;

use super::run;
use crate::domain::vocab::DeliveryState;
use crate::store::codes::Code;

/// Notifications and their deliveries (the durable dispatch queue).
pub(super) struct M0003Sending;

impl MigrationName for M0003Sending {
    fn name(&self) -> &str {
        "m0003_sending"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0003Sending {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let (queued, sending) = (DeliveryState::Queued.code(), DeliveryState::Sending.code());
        let due = format!(
            "CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = {queued}"
        );
        let leased = format!(
            "CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE state = {sending}"
        );
        run(
            manager,
            &[
                "CREATE TABLE notifications (
                    id TEXT PRIMARY KEY,
                    page_id TEXT NOT NULL,
                    request_id TEXT NOT NULL,
                    request_hash TEXT NOT NULL,
                    topic_key TEXT NOT NULL,
                    message TEXT NOT NULL,
                    state INTEGER NOT NULL,
                    plan TEXT NOT NULL,
                    rolling_title TEXT,
                    scheduled_at BIGINT NOT NULL,
                    created_at BIGINT NOT NULL,
                    completed_at BIGINT)",
                "CREATE UNIQUE INDEX notifications_request ON notifications (page_id, request_id)",
                "CREATE TABLE deliveries (
                    id {pk},
                    notification_id TEXT NOT NULL REFERENCES notifications (id),
                    page_id TEXT NOT NULL,
                    recipient_id BIGINT NOT NULL,
                    psid TEXT NOT NULL,
                    topic_key TEXT NOT NULL,
                    grant_id BIGINT,
                    path INTEGER NOT NULL,
                    rule TEXT NOT NULL,
                    state INTEGER NOT NULL,
                    attempts INTEGER NOT NULL,
                    ambiguous INTEGER NOT NULL,
                    next_attempt_at BIGINT NOT NULL,
                    lease_until BIGINT,
                    message_id TEXT,
                    failure TEXT,
                    sent_at BIGINT,
                    engaged_at BIGINT,
                    created_at BIGINT NOT NULL)",
                &due,
                &leased,
                "CREATE INDEX deliveries_notification ON deliveries (notification_id, state)",
                "CREATE INDEX deliveries_message ON deliveries (message_id)",
                "CREATE INDEX deliveries_person ON deliveries (page_id, psid, sent_at)",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &["DROP TABLE deliveries", "DROP TABLE notifications"],
        )
        .await
    }
}
