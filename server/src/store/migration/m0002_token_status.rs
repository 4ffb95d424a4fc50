//! STOP/RESUME that arrived before the opt-in they refer to.

use sea_orm_migration::prelude::*;

use super::run;

/// STOP/RESUME that arrived before the opt-in they refer to (webhooks come out of order).
pub(super) struct M0002TokenStatus;

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
