//! The W3C `traceparent` of the call that created each notification, so its Send API calls,
//! made later by whichever replica, continue the caller's trace.

use sea_orm_migration::prelude::*;

use super::run;

pub(super) struct M0009TraceParent;

impl MigrationName for M0009TraceParent {
    fn name(&self) -> &str {
        "m0009_trace_parent"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0009TraceParent {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &["ALTER TABLE notifications ADD COLUMN trace_parent TEXT NULL"],
        )
        .await
    }
}
