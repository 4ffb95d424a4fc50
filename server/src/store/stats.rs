//! What the metrics sampler reads: open deliveries per page and state (from the partial
//! due/leased indexes), page pauses, grants per state, the pool, and the event log's ends.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{ConnectionTrait, DatabaseBackend};

use super::Store;
use super::codes::{Code, values};
use super::schema::{Deliveries, Grants, Pages};
use crate::domain::vocab::{DeliveryState, GrantState};
use crate::error::Result;

impl Store {
    /// `(page, state, count)` of the QUEUED and SENDING deliveries.
    pub(crate) async fn open_deliveries(&self) -> Result<Vec<(String, DeliveryState, u64)>> {
        let open = [DeliveryState::Queued, DeliveryState::Sending];
        let q = Query::select()
            .column(Deliveries::PageId)
            .column(Deliveries::State)
            .expr_as(Func::count(Expr::col(Deliveries::Id)), Alias::new("n"))
            .from(Deliveries::Table)
            .and_where(Expr::col(Deliveries::State).is_in(values(&open)))
            .group_by_col(Deliveries::PageId)
            .group_by_col(Deliveries::State)
            .to_owned();
        let mut out = Vec::new();
        for r in self.db().query_all(&q).await? {
            let state = DeliveryState::from_code(r.try_get("", "state")?)?;
            out.push((
                r.try_get("", "page_id")?,
                state,
                u64::try_from(r.try_get::<i64>("", "n")?).unwrap_or(0),
            ));
        }
        Ok(out)
    }

    /// `(page, paused until ms, pause reason)` of every page row.
    pub(crate) async fn page_pauses(&self) -> Result<Vec<(String, Option<i64>, Option<String>)>> {
        let q = Query::select()
            .columns([Pages::PageId, Pages::PausedUntil, Pages::PauseReason])
            .from(Pages::Table)
            .to_owned();
        let mut out = Vec::new();
        for r in self.db().query_all(&q).await? {
            out.push((
                r.try_get("", "page_id")?,
                r.try_get("", "paused_until")?,
                r.try_get("", "pause_reason")?,
            ));
        }
        Ok(out)
    }

    /// Grants per state (a scan of the grants index: sampled rarely).
    pub(crate) async fn grant_counts(&self) -> Result<Vec<(GrantState, u64)>> {
        let q = Query::select()
            .column(Grants::State)
            .expr_as(Func::count(Expr::col(Grants::Id)), Alias::new("n"))
            .from(Grants::Table)
            .group_by_col(Grants::State)
            .to_owned();
        let mut out = Vec::new();
        for r in self.db().query_all(&q).await? {
            let state = GrantState::from_code(r.try_get("", "state")?)?;
            out.push((
                state,
                u64::try_from(r.try_get::<i64>("", "n")?).unwrap_or(0),
            ));
        }
        Ok(out)
    }

    /// `(in use, idle)` connections of the pool.
    pub(crate) fn pool_use(&self) -> (u32, u32) {
        let (size, idle) = match self.db().get_database_backend() {
            DatabaseBackend::Postgres => {
                let p = self.db().get_postgres_connection_pool();
                (p.size(), p.num_idle() as u32)
            }
            _ => {
                let p = self.db().get_sqlite_connection_pool();
                (p.size(), p.num_idle() as u32)
            }
        };
        (size.saturating_sub(idle), idle)
    }
}
