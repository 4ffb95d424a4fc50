//! Politeness: a notification keeps the frequency cap and quiet hours it observes, a delivery
//! the zone whose night it keeps, an event the not-before time of a deferral, a person their
//! time zone (set by UpdateRecipient, and the one of their latest Marketing Messages opt-in);
//! the cap counts a person's queued deliveries through an index on queued rows only.

use sea_orm_migration::prelude::*;

use super::run;
use crate::domain::vocab::DeliveryState;
use crate::store::codes::Code;

pub(super) struct M0030Polite;

impl MigrationName for M0030Polite {
    fn name(&self) -> &str {
        "m0030_polite"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0030Polite {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let queued = DeliveryState::Queued.code();
        let queued_person = format!(
            "CREATE INDEX deliveries_queued_person ON deliveries (page_id, psid, next_attempt_at) \
             WHERE state = {queued}"
        );
        run(
            manager,
            &[
                "ALTER TABLE notifications ADD COLUMN polite TEXT NULL",
                "ALTER TABLE deliveries ADD COLUMN quiet_zone TEXT NULL",
                "ALTER TABLE events ADD COLUMN not_before BIGINT NULL",
                "ALTER TABLE recipients ADD COLUMN time_zone TEXT NULL",
                "ALTER TABLE recipients ADD COLUMN optin_time_zone TEXT NULL",
                &queued_person,
            ],
        )
        .await
    }
}
