//! The circuit breaker: each negative signal of a page (a STOP, a block, a policy enforcement)
//! is a row, counted over the page's rolling window when the next one comes.

use sea_orm_migration::prelude::*;

use super::run;

pub(super) struct M0031Breaker;

impl MigrationName for M0031Breaker {
    fn name(&self) -> &str {
        "m0031_breaker"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0031Breaker {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &[
                "CREATE TABLE page_signals (id {pk}, page_id TEXT NOT NULL, \
                 kind INTEGER NOT NULL, at BIGINT NOT NULL)",
                "CREATE INDEX page_signals_page_at ON page_signals (page_id, at)",
            ],
        )
        .await
    }
}
