//! Sends of any size: a notification keeps what its planner needs (the audience, where planning
//! stands) so its deliveries are queued in bounded chunks after the call returns; grants get
//! the indexes the chunks walk (everyone on a topic by person, usable grants by person and by
//! opt-in time) in place of one that served neither; two unused delivery indexes go.

use sea_orm_migration::prelude::*;

use super::run;
use crate::domain::vocab::GrantState;
use crate::store::codes::Code;

pub(super) struct M0011Planner;

impl MigrationName for M0011Planner {
    fn name(&self) -> &str {
        "m0011_planner"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0011Planner {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let active = GrantState::Active.code();
        let by_person = format!(
            "CREATE INDEX grants_active_recipient ON grants (topic_id, recipient_id) \
             WHERE state = {active}"
        );
        let by_opt_in = format!(
            "CREATE INDEX grants_active_opted_in ON grants (topic_id, opted_in_at, id) \
             WHERE state = {active}"
        );
        run(
            manager,
            &[
                "ALTER TABLE notifications ADD COLUMN audience TEXT NULL",
                "ALTER TABLE notifications ADD COLUMN planning INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE notifications ADD COLUMN plan_cursor TEXT NULL",
                "CREATE INDEX notifications_planning ON notifications (created_at) \
                 WHERE planning = 1",
                "CREATE INDEX grants_topic_recipient ON grants (topic_id, recipient_id)",
                &by_person,
                &by_opt_in,
                "DROP INDEX grants_topic_state",
                "DROP INDEX deliveries_due",
                "DROP INDEX deliveries_leased",
            ],
        )
        .await
    }
}
