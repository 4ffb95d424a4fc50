//! Meta's echo of a delivery's message (its mid and Meta's time of it), kept on the delivery
//! when it arrives while an attempt is in flight, for that attempt's outcome to read.

use sea_orm_migration::prelude::*;

use super::run;

pub(super) struct M0012Echoes;

impl MigrationName for M0012Echoes {
    fn name(&self) -> &str {
        "m0012_echoes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0012Echoes {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &[
                "ALTER TABLE deliveries ADD COLUMN echo_mid TEXT NULL",
                "ALTER TABLE deliveries ADD COLUMN echo_at BIGINT NULL",
            ],
        )
        .await
    }
}
