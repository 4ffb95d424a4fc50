//! Deliveries are found by a person (receipts, engagement) and by Meta's message id only once
//! they were sent: those two indexes hold sent deliveries only, so queuing, claiming and
//! retrying a delivery (most of its row versions) add nothing to them.

use sea_orm_migration::prelude::*;

use super::run;

pub(super) struct M0013SentIndexes;

impl MigrationName for M0013SentIndexes {
    fn name(&self) -> &str {
        "m0013_sent_indexes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0013SentIndexes {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &[
                "DROP INDEX deliveries_person",
                "CREATE INDEX deliveries_person ON deliveries (page_id, psid, sent_at) \
                 WHERE sent_at IS NOT NULL",
                "DROP INDEX deliveries_message",
                "CREATE INDEX deliveries_message ON deliveries (message_id) \
                 WHERE message_id IS NOT NULL",
            ],
        )
        .await
    }
}
