//! Console sessions as opaque ids (only their SHA-256 is stored, so no reader of the database
//! can mint one), and erasure tombstones (a keyed hash of the person and when they were
//! forgotten, so a replayed opt-in from before cannot bring them back).

use sea_orm_migration::prelude::*;

use super::run;

pub(super) struct M0010Edges;

impl MigrationName for M0010Edges {
    fn name(&self) -> &str {
        "m0010_edges"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0010Edges {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &[
                "CREATE TABLE console_sessions (id_sha256 TEXT NOT NULL PRIMARY KEY, \
                 key_id TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)",
                "CREATE INDEX console_sessions_expires ON console_sessions (expires_at)",
                "CREATE TABLE erasures (page_id TEXT NOT NULL, person_hmac TEXT NOT NULL, \
                 erased_at BIGINT NOT NULL, PRIMARY KEY (page_id, person_hmac))",
            ],
        )
        .await
    }
}
