//! Delivery receipts that arrive (by mid) before the send's outcome is recorded.

use sea_orm_migration::prelude::*;

use super::run;

/// Delivery receipts that arrive (by mid) before the send's outcome is recorded.
pub(super) struct M0004EarlyReceipts;

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
