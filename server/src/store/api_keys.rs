//! API key rows: create, find by key id, list, revoke, expire (rotation), note the last use.

use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::Store;
use super::schema::ApiKeys;
use crate::access::{KeyRecord, Scope};
use crate::error::{Error, Result};

/// A key's last use is written at most this often (every call would be a write).
const TOUCH_EVERY_MS: i64 = 60_000;

#[derive(FromQueryResult)]
struct Row {
    name: String,
    key_id: String,
    secret_sha256: String,
    scopes: String,
    pages: Option<String>,
    created_at: i64,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<Row> for KeyRecord {
    type Error = Error;
    fn try_from(r: Row) -> Result<Self> {
        let scopes = r
            .scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(Scope::parse)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(Error::Internal)?;
        Ok(KeyRecord {
            name: r.name,
            key_id: r.key_id,
            secret_sha256: r.secret_sha256,
            scopes,
            pages: r.pages.map(|p| p.split(',').map(str::to_string).collect()),
            created_ms: r.created_at,
            last_used_ms: r.last_used_at,
            expires_ms: r.expires_at,
            revoked_ms: r.revoked_at,
        })
    }
}

const COLUMNS: [ApiKeys; 9] = [
    ApiKeys::Name,
    ApiKeys::KeyId,
    ApiKeys::SecretSha256,
    ApiKeys::Scopes,
    ApiKeys::Pages,
    ApiKeys::CreatedAt,
    ApiKeys::LastUsedAt,
    ApiKeys::ExpiresAt,
    ApiKeys::RevokedAt,
];

impl Store {
    /// Stores a new key.
    pub(crate) async fn insert_api_key(&self, k: &KeyRecord) -> Result<()> {
        let scopes: Vec<&str> = k.scopes.iter().map(|s| s.as_str()).collect();
        let insert = Query::insert()
            .into_table(ApiKeys::Table)
            .columns(COLUMNS)
            .values_panic([
                k.name.clone().into(),
                k.key_id.clone().into(),
                k.secret_sha256.clone().into(),
                scopes.join(",").into(),
                k.pages.as_ref().map(|p| p.join(",")).into(),
                k.created_ms.into(),
                k.last_used_ms.into(),
                k.expires_ms.into(),
                k.revoked_ms.into(),
            ])
            .to_owned();
        let w = self.write().await?;
        w.txn().execute(&insert).await?;
        w.commit().await
    }

    async fn api_keys_where(&self, cond: sea_orm::sea_query::Cond) -> Result<Vec<KeyRecord>> {
        let q = Query::select()
            .columns(COLUMNS)
            .from(ApiKeys::Table)
            .cond_where(cond)
            .order_by(ApiKeys::Name, Order::Asc)
            .order_by(ApiKeys::CreatedAt, Order::Asc)
            .to_owned();
        let rows = Row::find_by_statement(self.db().get_database_backend().build(&q))
            .all(self.db())
            .await?;
        rows.into_iter().map(KeyRecord::try_from).collect()
    }

    /// The key with this id.
    pub(crate) async fn api_key(&self, key_id: &str) -> Result<Option<KeyRecord>> {
        let cond = sea_orm::sea_query::Cond::all().add(Expr::col(ApiKeys::KeyId).eq(key_id));
        Ok(self.api_keys_where(cond).await?.into_iter().next())
    }

    /// Every key, by name (revoked ones too).
    pub(crate) async fn api_keys(&self) -> Result<Vec<KeyRecord>> {
        self.api_keys_where(sea_orm::sea_query::Cond::all()).await
    }

    /// Revokes every key named `name` now; returns how many were live.
    pub(crate) async fn revoke_api_keys(&self, name: &str, now_ms: i64) -> Result<u64> {
        let s = Query::update()
            .table(ApiKeys::Table)
            .value(ApiKeys::RevokedAt, now_ms)
            .and_where(Expr::col(ApiKeys::Name).eq(name))
            .and_where(Expr::col(ApiKeys::RevokedAt).is_null())
            .to_owned();
        let w = self.write().await?;
        let n = w.txn().execute(&s).await?.rows_affected();
        w.commit().await?;
        Ok(n)
    }

    /// Makes the live keys named `name` expire at `at_ms` (a rotation's grace period).
    pub(crate) async fn expire_api_keys(&self, name: &str, at_ms: i64) -> Result<u64> {
        let s = Query::update()
            .table(ApiKeys::Table)
            .value(ApiKeys::ExpiresAt, at_ms)
            .and_where(Expr::col(ApiKeys::Name).eq(name))
            .and_where(Expr::col(ApiKeys::RevokedAt).is_null())
            .and_where(
                Expr::col(ApiKeys::ExpiresAt)
                    .is_null()
                    .or(Expr::col(ApiKeys::ExpiresAt).gt(at_ms)),
            )
            .to_owned();
        let w = self.write().await?;
        let n = w.txn().execute(&s).await?.rows_affected();
        w.commit().await?;
        Ok(n)
    }

    /// Notes that the key was used at `now_ms` (at most once a minute per key).
    pub(crate) async fn touch_api_key(&self, key_id: &str, now_ms: i64) -> Result<()> {
        let s = Query::update()
            .table(ApiKeys::Table)
            .value(ApiKeys::LastUsedAt, now_ms)
            .and_where(Expr::col(ApiKeys::KeyId).eq(key_id))
            .and_where(
                Expr::col(ApiKeys::LastUsedAt)
                    .is_null()
                    .or(Expr::col(ApiKeys::LastUsedAt).lt(now_ms - TOUCH_EVERY_MS)),
            )
            .to_owned();
        let w = self.write().await?;
        w.txn().execute(&s).await?;
        w.commit().await
    }
}
