//! Who did it: the API key's name on notifications, opt-in requests, revocations and events; the
//! template of an opt-in request; the message tag of a notification, typed.

use sea_orm_migration::prelude::*;

use super::run;

pub(super) struct M0005Actors;

impl MigrationName for M0005Actors {
    fn name(&self) -> &str {
        "m0005_actors"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0005Actors {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &[
                "ALTER TABLE notifications ADD COLUMN created_by TEXT",
                "ALTER TABLE notifications ADD COLUMN message_tag INTEGER",
                "ALTER TABLE opt_in_requests ADD COLUMN requested_by TEXT",
                "ALTER TABLE opt_in_requests ADD COLUMN template INTEGER",
                "ALTER TABLE grants ADD COLUMN revoked_by TEXT",
                "ALTER TABLE events ADD COLUMN actor TEXT",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &[
                "ALTER TABLE events DROP COLUMN actor",
                "ALTER TABLE grants DROP COLUMN revoked_by",
                "ALTER TABLE opt_in_requests DROP COLUMN template",
                "ALTER TABLE opt_in_requests DROP COLUMN requested_by",
                "ALTER TABLE notifications DROP COLUMN message_tag",
                "ALTER TABLE notifications DROP COLUMN created_by",
            ],
        )
        .await
    }
}
