//! Pages, recipients, tags, topics, grants, opt-in requests and the event log.

use sea_orm_migration::prelude::*;

use super::run;

/// Pages, recipients, tags, topics, grants, opt-in requests and the event log.
pub(super) struct M0001Ledger;

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
