//! Meta's own status of each grant, kept apart from otn's state: the time of the latest STOP or
//! RESUME applied (`status_at`, on Meta's clock, which orders them) and whether it stopped the
//! grant (`meta_stopped`), so a STOP that arrives while a send holds the grant is not lost.

use sea_orm_migration::prelude::*;

use super::run;
use crate::domain::vocab::GrantState;
use crate::store::codes::Code;

pub(super) struct M0007GrantStatus;

impl MigrationName for M0007GrantStatus {
    fn name(&self) -> &str {
        "m0007_grant_status"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0007GrantStatus {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let stopped = GrantState::Stopped.code();
        let backfill = format!(
            "UPDATE grants SET meta_stopped = 1, status_at = state_changed_at \
             WHERE state = {stopped}"
        );
        run(
            manager,
            &[
                "ALTER TABLE grants ADD COLUMN status_at BIGINT NULL",
                "ALTER TABLE grants ADD COLUMN meta_stopped INTEGER NOT NULL DEFAULT 0",
                &backfill,
            ],
        )
        .await
    }
}
