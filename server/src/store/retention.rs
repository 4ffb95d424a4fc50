//! Deleting what retention no longer keeps, one small batch per transaction: finished
//! notifications with their deliveries, the oldest events (the log remembers how far it was
//! pruned), opt-in requests, dead grants no delivery refers to, and stale early receipts and
//! token statuses. On PostgreSQL each batch takes a transaction-scoped advisory lock, so
//! replicas do not prune the same rows at once.

use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, Func, Order, Query};
use sea_orm::{ConnectionTrait, Statement};

use super::codes::values;
use super::schema::{
    Deliveries, EarlyReceipts, EventCounter, Events, Grants, Notifications, OptInRequests,
    TokenStatuses,
};
use super::{Store, WriteTxn};
use crate::domain::vocab::{GrantState, NotificationState};
use crate::error::Result;

/// Lock key of retention batches ("otn-retn").
const RETENTION_LOCK_KEY: i64 = 0x6f74_6e2d_7265_746e;

/// What one table lost.
pub(crate) type Deleted = (&'static str, u64);

impl Store {
    /// A write transaction for a retention batch; `None` when another replica holds the lock.
    async fn retention_txn(&self) -> Result<Option<WriteTxn<'_>>> {
        let w = self.write().await?;
        if w.postgres {
            let stmt = Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT pg_try_advisory_xact_lock($1) AS got",
                [RETENTION_LOCK_KEY.into()],
            );
            let got = w.txn().query_one_raw(stmt).await?;
            if !got
                .map(|r| r.try_get::<bool>("", "got"))
                .transpose()?
                .unwrap_or(false)
            {
                return Ok(None);
            }
        }
        Ok(Some(w))
    }

    /// Deletes up to `batch` finished notifications last changed before `before_ms`, with their
    /// deliveries; returns (deliveries, notifications) deleted.
    pub(crate) async fn prune_notifications(
        &self,
        before_ms: i64,
        batch: u64,
    ) -> Result<(u64, u64)> {
        let Some(w) = self.retention_txn().await? else {
            return Ok((0, 0));
        };
        let finished = values(&[
            NotificationState::Completed,
            NotificationState::Cancelled,
            NotificationState::Planned,
        ]);
        let old = Query::select()
            .column(Notifications::Id)
            .from(Notifications::Table)
            .and_where(Expr::col(Notifications::State).is_in(finished))
            .and_where(
                Expr::expr(Func::coalesce([
                    Expr::col(Notifications::CompletedAt),
                    Expr::col(Notifications::CreatedAt),
                ]))
                .lt(before_ms),
            )
            .limit(batch)
            .to_owned();
        let ids: Vec<String> = w
            .txn()
            .query_all(&old)
            .await?
            .iter()
            .map(|r| r.try_get("", "id"))
            .collect::<std::result::Result<_, _>>()?;
        if ids.is_empty() {
            return Ok((0, 0));
        }
        let deliveries = Query::delete()
            .from_table(Deliveries::Table)
            .and_where(Expr::col(Deliveries::NotificationId).is_in(ids.clone()))
            .to_owned();
        let d = w.txn().execute(&deliveries).await?.rows_affected();
        let notifications = Query::delete()
            .from_table(Notifications::Table)
            .and_where(Expr::col(Notifications::Id).is_in(ids))
            .to_owned();
        let n = w.txn().execute(&notifications).await?.rows_affected();
        w.commit().await?;
        Ok((d, n))
    }

    /// Deletes up to `batch` of the events numbered before the first event stamped at or after
    /// `before_ms`, and records how far the log is pruned.
    pub(crate) async fn prune_events(&self, before_ms: i64, batch: u64) -> Result<u64> {
        let Some(w) = self.retention_txn().await? else {
            return Ok(0);
        };
        let cutoff = Query::select()
            .expr_as(Func::max(Expr::col(Events::Seq)), Alias::new("cutoff"))
            .from(Events::Table)
            .and_where(Expr::col(Events::Seq).is_not_null())
            .and_where(Expr::col(Events::At).lt(before_ms))
            .to_owned();
        let cutoff: Option<i64> = match w.txn().query_one(&cutoff).await? {
            Some(r) => r.try_get("", "cutoff")?,
            None => None,
        };
        let Some(cutoff) = cutoff else {
            return Ok(0);
        };
        let oldest = Query::select()
            .column(Events::Seq)
            .from(Events::Table)
            .and_where(Expr::col(Events::Seq).is_not_null())
            .and_where(Expr::col(Events::Seq).lte(cutoff))
            .order_by(Events::Seq, Order::Asc)
            .limit(batch)
            .to_owned();
        let seqs: Vec<i64> = w
            .txn()
            .query_all(&oldest)
            .await?
            .iter()
            .map(|r| r.try_get("", "seq"))
            .collect::<std::result::Result<_, _>>()?;
        let Some(&through) = seqs.last() else {
            return Ok(0);
        };
        let delete = Query::delete()
            .from_table(Events::Table)
            .and_where(Expr::col(Events::Seq).is_in(seqs))
            .to_owned();
        let n = w.txn().execute(&delete).await?.rows_affected();
        let mark = Query::update()
            .table(EventCounter::Table)
            .value(EventCounter::PrunedThrough, through)
            .and_where(Expr::col(EventCounter::Id).eq(1))
            .and_where(Expr::col(EventCounter::PrunedThrough).lt(through))
            .to_owned();
        w.txn().execute(&mark).await?;
        w.commit().await?;
        Ok(n)
    }

    /// Deletes up to `batch` opt-in requests made before `before_ms`.
    pub(crate) async fn prune_opt_in_requests(&self, before_ms: i64, batch: u64) -> Result<u64> {
        let Some(w) = self.retention_txn().await? else {
            return Ok(0);
        };
        let old = Query::select()
            .column(OptInRequests::Id)
            .from(OptInRequests::Table)
            .and_where(Expr::col(OptInRequests::CreatedAt).lt(before_ms))
            .limit(batch)
            .to_owned();
        let delete = Query::delete()
            .from_table(OptInRequests::Table)
            .and_where(Expr::col(OptInRequests::Id).in_subquery(old))
            .to_owned();
        let n = w.txn().execute(&delete).await?.rows_affected();
        w.commit().await?;
        Ok(n)
    }

    /// Deletes up to `batch` grants dead since before `before_ms` (consumed, expired, revoked,
    /// invalid) that no remaining delivery refers to.
    pub(crate) async fn prune_dead_grants(&self, before_ms: i64, batch: u64) -> Result<u64> {
        let Some(w) = self.retention_txn().await? else {
            return Ok(0);
        };
        let dead = values(&[
            GrantState::Consumed,
            GrantState::Expired,
            GrantState::Revoked,
            GrantState::Invalid,
        ]);
        let referenced = Query::select()
            .expr(Expr::val(1))
            .from(Deliveries::Table)
            .and_where(
                Expr::col((Deliveries::Table, Deliveries::GrantId))
                    .equals((Grants::Table, Grants::Id)),
            )
            .to_owned();
        let old = Query::select()
            .column(Grants::Id)
            .from(Grants::Table)
            .cond_where(
                Cond::all()
                    .add(Expr::col((Grants::Table, Grants::State)).is_in(dead))
                    .add(Expr::col((Grants::Table, Grants::StateChangedAt)).lt(before_ms))
                    .add(Expr::exists(referenced).not()),
            )
            .limit(batch)
            .to_owned();
        let ids: Vec<i64> = w
            .txn()
            .query_all(&old)
            .await?
            .iter()
            .map(|r| r.try_get("", "id"))
            .collect::<std::result::Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(0);
        }
        let delete = Query::delete()
            .from_table(Grants::Table)
            .and_where(Expr::col(Grants::Id).is_in(ids))
            .to_owned();
        let n = w.txn().execute(&delete).await?.rows_affected();
        w.commit().await?;
        Ok(n)
    }

    /// Deletes early receipts and token statuses kept since before `before_ms` (their send or
    /// opt-in never came).
    pub(crate) async fn prune_orphans(&self, before_ms: i64) -> Result<Vec<Deleted>> {
        let Some(w) = self.retention_txn().await? else {
            return Ok(Vec::new());
        };
        let receipts = Query::delete()
            .from_table(EarlyReceipts::Table)
            .and_where(Expr::col(EarlyReceipts::At).lt(before_ms))
            .to_owned();
        let r = w.txn().execute(&receipts).await?.rows_affected();
        let statuses = Query::delete()
            .from_table(TokenStatuses::Table)
            .and_where(Expr::col(TokenStatuses::At).lt(before_ms))
            .to_owned();
        let s = w.txn().execute(&statuses).await?.rows_affected();
        w.commit().await?;
        Ok(vec![("early_receipts", r), ("token_statuses", s)])
    }
}
