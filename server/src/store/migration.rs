//! Schema migrations (sea-orm-migration), written as portable DDL for SQLite and PostgreSQL.

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;

/// Every migration, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M0001Ledger),
            Box::new(M0002TokenStatus),
            Box::new(M0003Sending),
            Box::new(M0004EarlyReceipts),
        ]
    }
}

/// Runs each statement, replacing `{pk}` with the backend's auto-increment key column.
async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    let pk = match conn.get_database_backend() {
        DatabaseBackend::Postgres => "BIGSERIAL PRIMARY KEY",
        _ => "INTEGER PRIMARY KEY AUTOINCREMENT",
    };
    for sql in statements {
        conn.execute_unprepared(&sql.replace("{pk}", pk)).await?;
    }
    Ok(())
}

/// Pages, recipients, tags, topics, grants, opt-in requests and the event log.
struct M0001Ledger;

impl MigrationName for M0001Ledger {
    fn name(&self) -> &str {
        "m0001_ledger"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0001Ledger {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &[
                "CREATE TABLE pages (
                    page_id TEXT PRIMARY KEY,
                    region TEXT,
                    paused_at BIGINT,
                    pause_reason TEXT,
                    created_at BIGINT NOT NULL)",
                "CREATE TABLE recipients (
                    id {pk},
                    page_id TEXT NOT NULL,
                    psid TEXT NOT NULL,
                    region TEXT,
                    last_interaction_at BIGINT,
                    created_at BIGINT NOT NULL)",
                "CREATE UNIQUE INDEX recipients_page_psid ON recipients (page_id, psid)",
                "CREATE TABLE recipient_tags (
                    recipient_id BIGINT NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
                    tag TEXT NOT NULL,
                    PRIMARY KEY (recipient_id, tag))",
                "CREATE INDEX recipient_tags_tag ON recipient_tags (tag, recipient_id)",
                "CREATE TABLE topics (
                    id {pk},
                    page_id TEXT NOT NULL,
                    topic_key TEXT NOT NULL,
                    title TEXT NOT NULL,
                    created_at BIGINT NOT NULL)",
                "CREATE UNIQUE INDEX topics_page_key ON topics (page_id, topic_key)",
                "CREATE TABLE grants (
                    id {pk},
                    page_id TEXT NOT NULL,
                    recipient_id BIGINT NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
                    topic_id BIGINT NOT NULL REFERENCES topics (id),
                    kind INTEGER NOT NULL,
                    token TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    opted_in_at BIGINT NOT NULL,
                    expires_at BIGINT,
                    state INTEGER NOT NULL,
                    state_changed_at BIGINT NOT NULL,
                    last_sent_at BIGINT,
                    created_at BIGINT NOT NULL)",
                "CREATE UNIQUE INDEX grants_token ON grants (token)",
                "CREATE INDEX grants_topic_state ON grants (topic_id, state, recipient_id)",
                "CREATE INDEX grants_recipient ON grants (recipient_id, topic_id)",
                "CREATE TABLE opt_in_requests (
                    id TEXT PRIMARY KEY,
                    page_id TEXT NOT NULL,
                    request_id TEXT NOT NULL,
                    recipient_id BIGINT NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
                    topic_id BIGINT NOT NULL REFERENCES topics (id),
                    title TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    message_id TEXT,
                    sent_at BIGINT,
                    created_at BIGINT NOT NULL)",
                "CREATE UNIQUE INDEX opt_in_requests_request ON opt_in_requests (page_id, request_id)",
                "CREATE INDEX opt_in_requests_title ON opt_in_requests (recipient_id, title, sent_at)",
                "CREATE TABLE events (
                    seq BIGINT PRIMARY KEY,
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
                    failure TEXT)",
                "CREATE TABLE event_counter (id INTEGER PRIMARY KEY, last_seq BIGINT NOT NULL)",
                "INSERT INTO event_counter (id, last_seq) VALUES (1, 0)",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &[
                "DROP TABLE event_counter",
                "DROP TABLE events",
                "DROP TABLE opt_in_requests",
                "DROP TABLE grants",
                "DROP TABLE topics",
                "DROP TABLE recipient_tags",
                "DROP TABLE recipients",
                "DROP TABLE pages",
            ],
        )
        .await
    }
}

/// STOP/RESUME that arrived before the opt-in they refer to (webhooks come out of order).
struct M0002TokenStatus;

impl MigrationName for M0002TokenStatus {
    fn name(&self) -> &str {
        "m0002_token_status"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0002TokenStatus {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &["CREATE TABLE token_statuses (
                token TEXT PRIMARY KEY,
                page_id TEXT NOT NULL,
                psid TEXT NOT NULL,
                stopped INTEGER NOT NULL,
                at BIGINT NOT NULL)"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, &["DROP TABLE token_statuses"]).await
    }
}

/// Notifications and their deliveries (the durable dispatch queue).
struct M0003Sending;

impl MigrationName for M0003Sending {
    fn name(&self) -> &str {
        "m0003_sending"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0003Sending {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
                "CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 1",
                "CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE state = 2",
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

/// Delivery receipts that arrive (by mid) before the send's outcome is recorded.
struct M0004EarlyReceipts;

impl MigrationName for M0004EarlyReceipts {
    fn name(&self) -> &str {
        "m0004_early_receipts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0004EarlyReceipts {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &[
                "CREATE TABLE early_receipts (
                    message_id TEXT PRIMARY KEY,
                    page_id TEXT NOT NULL,
                    psid TEXT NOT NULL,
                    at BIGINT NOT NULL)",
                "CREATE INDEX early_receipts_at ON early_receipts (at)",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, &["DROP TABLE early_receipts"]).await
    }
}
