//! Console session rows: the SHA-256 of a session id, its key, and when it expires.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};

use super::Store;
use super::schema::ConsoleSessions;
use crate::error::Result;

impl Store {
    /// Stores a session of `key_id` whose id hashes to `id_sha256`.
    pub(crate) async fn insert_session(
        &self,
        id_sha256: &str,
        key_id: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<()> {
        let insert = Query::insert()
            .into_table(ConsoleSessions::Table)
            .columns([
                ConsoleSessions::IdSha256,
                ConsoleSessions::KeyId,
                ConsoleSessions::CreatedAt,
                ConsoleSessions::ExpiresAt,
            ])
            .values_panic([
                id_sha256.into(),
                key_id.into(),
                now_ms.into(),
                expires_ms.into(),
            ])
            .to_owned();
        let w = self.write().await?;
        w.txn().execute(&insert).await?;
        w.commit().await
    }

    /// The key id and expiry of the session whose id hashes to `id_sha256`.
    pub(crate) async fn session(&self, id_sha256: &str) -> Result<Option<(String, i64)>> {
        let q = Query::select()
            .columns([ConsoleSessions::KeyId, ConsoleSessions::ExpiresAt])
            .from(ConsoleSessions::Table)
            .and_where(Expr::col(ConsoleSessions::IdSha256).eq(id_sha256))
            .to_owned();
        Ok(match self.db().query_one(&q).await? {
            Some(r) => Some((r.try_get("", "key_id")?, r.try_get("", "expires_at")?)),
            None => None,
        })
    }

    /// Ends a session (sign-out).
    pub(crate) async fn delete_session(&self, id_sha256: &str) -> Result<()> {
        let d = Query::delete()
            .from_table(ConsoleSessions::Table)
            .and_where(Expr::col(ConsoleSessions::IdSha256).eq(id_sha256))
            .to_owned();
        let w = self.write().await?;
        w.txn().execute(&d).await?;
        w.commit().await
    }

    /// Deletes sessions that expired before `now_ms`; returns how many.
    pub(crate) async fn delete_expired_sessions(&self, now_ms: i64) -> Result<u64> {
        let d = Query::delete()
            .from_table(ConsoleSessions::Table)
            .and_where(Expr::col(ConsoleSessions::ExpiresAt).lte(now_ms))
            .to_owned();
        let w = self.write().await?;
        let n = w.txn().execute(&d).await?.rows_affected();
        w.commit().await?;
        Ok(n)
    }
}
