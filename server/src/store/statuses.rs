//! STOP and RESUME from Meta: applied to the grant of the token, or kept until its opt-in
//! arrives (webhooks come out of order).

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};

use super::codes::Code;
use super::schema::{Grants, Recipients, TokenStatuses};
use super::{Store, events};
use crate::domain::event::NewEvent;
use crate::domain::notification::Actor;
use crate::domain::vocab::{EventKind, GrantState};
use crate::error::Result;

impl Store {
    /// Applies a STOP (`stop`) or RESUME from Meta, made at `at_ms`, to the grant with this
    /// token. An event older than the grant's last state change is ignored, so duplicate and
    /// out-of-order webhooks are harmless; a status for a token not recorded yet is kept and
    /// applied when its opt-in arrives.
    pub(crate) async fn set_stopped(
        &self,
        page_id: &str,
        psid: &str,
        token: &str,
        stop: bool,
        at_ms: i64,
        now_ms: i64,
    ) -> Result<bool> {
        let (to, from) = match stop {
            true => (GrantState::Stopped, GrantState::Active),
            false => (GrantState::Active, GrantState::Stopped),
        };
        let mut w = self.write().await?;
        let person = Query::select()
            .column(Recipients::Id)
            .from(Recipients::Table)
            .and_where(Expr::col(Recipients::PageId).eq(page_id))
            .and_where(Expr::col(Recipients::Psid).eq(psid))
            .to_owned();
        let stmt = Query::update()
            .table(Grants::Table)
            .value(Grants::State, to.code())
            .value(Grants::StateChangedAt, at_ms)
            .and_where(Expr::col(Grants::Token).eq(token))
            .and_where(Expr::col(Grants::State).eq(from.code()))
            .and_where(Expr::col(Grants::StateChangedAt).lte(at_ms))
            .and_where(Expr::col(Grants::PageId).eq(page_id))
            .and_where(Expr::col(Grants::RecipientId).in_subquery(person))
            .returning_col(Grants::Id)
            .to_owned();
        let changed = w.txn().query_one(&stmt).await?;
        let applied = changed.is_some();
        match changed {
            Some(row) => {
                let id: i64 = row.try_get("", "id")?;
                let kind = match stop {
                    true => EventKind::GrantStopped,
                    false => EventKind::GrantResumed,
                };
                let mut ev = NewEvent::new(kind, page_id);
                ev.psid = Some(psid.to_string());
                ev.grant_id = Some(id);
                ev.actor = Some(Actor::meta().as_str().to_string());
                events::append(&mut w, vec![ev], now_ms).await?;
            }
            None => {
                // Maybe the opt-in has not arrived yet: keep the latest status for the token,
                // and apply it when the grant is recorded.
                let keep = Query::insert()
                    .into_table(TokenStatuses::Table)
                    .columns([
                        TokenStatuses::Token,
                        TokenStatuses::PageId,
                        TokenStatuses::Psid,
                        TokenStatuses::Stopped,
                        TokenStatuses::At,
                    ])
                    .values_panic([
                        token.into(),
                        page_id.into(),
                        psid.into(),
                        i32::from(stop).into(),
                        at_ms.into(),
                    ])
                    .on_conflict(
                        OnConflict::column(TokenStatuses::Token)
                            .update_columns([TokenStatuses::Stopped, TokenStatuses::At])
                            .action_and_where(
                                Expr::col((TokenStatuses::Table, TokenStatuses::At))
                                    .lt(Expr::col((Alias::new("excluded"), TokenStatuses::At))),
                            )
                            .to_owned(),
                    )
                    .to_owned();
                w.txn().execute(&keep).await?;
            }
        }
        w.commit().await?;
        Ok(applied)
    }
}
