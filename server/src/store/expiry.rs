//! The expiry sweep: active grants past their expiry time become EXPIRED, each with a
//! GRANT_EXPIRED event, in the same small transaction (so the funnel counts every grant that
//! expired unused exactly once). Reading never needed it (an active grant past its expiry is
//! not usable, and reads as expired); the sweep makes the expiry an event.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};

use super::codes::Code;
use super::schema::Grants;
use super::{Store, events};
use crate::domain::event::NewEvent;
use crate::domain::vocab::{EventKind, GrantState};
use crate::error::Result;

impl Store {
    /// Expires up to `batch` active grants whose expiry time is at or before `now_ms` (soonest
    /// first, through the index of active grants by expiry); returns how many. A grant another
    /// transaction changed meanwhile (reserved, revoked, stopped, or expired by another replica)
    /// is left alone: the update re-checks the state.
    pub(crate) async fn expire_grants(&self, now_ms: i64, batch: u64) -> Result<u64> {
        let active = GrantState::Active.literal();
        let due = Query::select()
            .column(Grants::Id)
            .from(Grants::Table)
            .and_where(Expr::col(Grants::State).eq(active.clone()))
            .and_where(Expr::col(Grants::ExpiresAt).is_not_null())
            .and_where(Expr::col(Grants::ExpiresAt).lte(now_ms))
            .order_by(Grants::ExpiresAt, Order::Asc)
            .limit(batch)
            .to_owned();
        let mut w = self.write().await?;
        let ids: Vec<i64> = w
            .txn()
            .query_all(&due)
            .await?
            .iter()
            .map(|r| r.try_get("", "id"))
            .collect::<std::result::Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(0);
        }
        let expire = Query::update()
            .table(Grants::Table)
            .value(Grants::State, GrantState::Expired.code())
            .value(Grants::StateChangedAt, Expr::col(Grants::ExpiresAt))
            .and_where(Expr::col(Grants::Id).is_in(ids))
            .and_where(Expr::col(Grants::State).eq(active))
            .and_where(Expr::col(Grants::ExpiresAt).lte(now_ms))
            .returning_col(Grants::Id)
            .to_owned();
        let expired: Vec<i64> = w
            .txn()
            .query_all(&expire)
            .await?
            .iter()
            .map(|r| r.try_get("", "id"))
            .collect::<std::result::Result<_, _>>()?;
        let grants = self.grants_by_ids_on(w.txn(), &expired).await?;
        let evs: Vec<NewEvent> = grants
            .iter()
            .map(|g| {
                let mut ev = NewEvent::new(EventKind::GrantExpired, g.page_id.clone());
                ev.topic_key = Some(g.topic_key.clone());
                ev.psid = Some(g.psid.clone());
                ev.grant_id = Some(g.id);
                ev
            })
            .collect();
        let n = evs.len() as u64;
        events::append(&mut w, evs, now_ms).await?;
        w.commit().await?;
        Ok(n)
    }
}
