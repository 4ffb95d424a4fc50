//! API keys: a name, the scopes and pages it may use, and the SHA-256 of its secret (the key
//! itself is shown once, at creation, and never stored). A key is live until revoked, or until
//! its `expires_at` after a rotation.

use sea_orm_migration::prelude::*;

use super::run;

pub(super) struct M0008ApiKeys;

impl MigrationName for M0008ApiKeys {
    fn name(&self) -> &str {
        "m0008_api_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0008ApiKeys {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &[
                "CREATE TABLE api_keys (id {pk}, name TEXT NOT NULL, key_id TEXT NOT NULL, \
                 secret_sha256 TEXT NOT NULL, scopes TEXT NOT NULL, pages TEXT NULL, \
                 created_at BIGINT NOT NULL, last_used_at BIGINT NULL, \
                 expires_at BIGINT NULL, revoked_at BIGINT NULL)",
                "CREATE UNIQUE INDEX api_keys_key_id ON api_keys (key_id)",
                "CREATE INDEX api_keys_name ON api_keys (name)",
            ],
        )
        .await
    }
}
