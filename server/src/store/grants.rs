//! Grants: recording an opt-in, reads joined with their person and topic, revocation,
//! assignment of an unassigned grant, and STOP/RESUME from Meta.

use sea_orm::sea_query::{Cond, Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::codes::{Code, values};
use super::schema::{Grants, Recipients, Topics};
use super::{Store, events};
use crate::domain::event::NewEvent;
use crate::domain::grant::{GrantView, RevokeTarget};
use crate::domain::notification::Actor;
use crate::domain::values::{Title, TopicKey};
use crate::domain::vocab::{EventKind, GrantKind, GrantState};
use crate::error::{Error, Result};

#[derive(FromQueryResult)]
pub(super) struct GrantRow {
    id: i64,
    page_id: String,
    psid: String,
    topic_key: String,
    kind: i32,
    payload: String,
    opted_in_at: i64,
    expires_at: Option<i64>,
    state: i32,
    state_changed_at: i64,
    revoked_by: Option<String>,
}

impl TryFrom<GrantRow> for GrantView {
    type Error = Error;
    fn try_from(r: GrantRow) -> Result<Self> {
        Ok(GrantView {
            id: r.id,
            page_id: r.page_id,
            psid: r.psid,
            topic_key: r.topic_key,
            kind: GrantKind::from_code(r.kind)?,
            payload: r.payload,
            opted_in_ms: r.opted_in_at,
            expires_ms: r.expires_at,
            state: GrantState::from_code(r.state)?,
            state_changed_ms: r.state_changed_at,
            revoked_by: r.revoked_by,
        })
    }
}

/// The SELECT that turns grant rows into views, joined with their person and topic.
pub(super) fn grant_select() -> SelectStatement {
    Query::select()
        .columns([
            (Grants::Table, Grants::Id),
            (Grants::Table, Grants::PageId),
            (Grants::Table, Grants::Kind),
            (Grants::Table, Grants::Payload),
            (Grants::Table, Grants::OptedInAt),
            (Grants::Table, Grants::ExpiresAt),
            (Grants::Table, Grants::State),
            (Grants::Table, Grants::StateChangedAt),
            (Grants::Table, Grants::RevokedBy),
        ])
        .column((Recipients::Table, Recipients::Psid))
        .column((Topics::Table, Topics::TopicKey))
        .from(Grants::Table)
        .inner_join(
            Recipients::Table,
            Expr::col((Recipients::Table, Recipients::Id))
                .equals((Grants::Table, Grants::RecipientId)),
        )
        .inner_join(
            Topics::Table,
            Expr::col((Topics::Table, Topics::Id)).equals((Grants::Table, Grants::TopicId)),
        )
        .to_owned()
}

/// The state a reserved grant goes back to when its send did not spend it: ACTIVE, or STOPPED
/// when Meta's STOP arrived while the send held it.
pub(super) fn released() -> Expr {
    Expr::case(
        Expr::col(Grants::MetaStopped).eq(1),
        GrantState::Stopped.code(),
    )
    .finally(GrantState::Active.code())
    .into()
}

fn subject(kind: EventKind, g: &GrantView, actor: &Actor) -> NewEvent {
    let mut ev = NewEvent::new(kind, g.page_id.clone());
    ev.topic_key = Some(g.topic_key.clone());
    ev.psid = Some(g.psid.clone());
    ev.grant_id = Some(g.id);
    ev.actor = Some(actor.as_str().to_string());
    ev
}

impl Store {
    /// Grants matching `cond` (over the grants, recipients and topics tables), by person, then
    /// soonest-expiring first.
    pub(super) async fn grants_where(&self, cond: Cond) -> Result<Vec<GrantView>> {
        let stmt = grant_select()
            .cond_where(cond)
            .order_by((Recipients::Table, Recipients::Id), Order::Asc)
            .order_by((Grants::Table, Grants::ExpiresAt), Order::Asc)
            .order_by((Grants::Table, Grants::Id), Order::Asc)
            .to_owned();
        let rows = GrantRow::find_by_statement(self.db().get_database_backend().build(&stmt))
            .all(self.db())
            .await?;
        rows.into_iter().map(GrantView::try_from).collect()
    }

    async fn one_grant(&self, cond: Cond) -> Result<Option<GrantView>> {
        Ok(self.grants_where(cond).await?.into_iter().next())
    }

    /// One grant by id.
    pub(crate) async fn grant(&self, id: i64) -> Result<Option<GrantView>> {
        self.one_grant(Cond::all().add(Expr::col((Grants::Table, Grants::Id)).eq(id)))
            .await
    }

    pub(super) async fn grant_by_token(&self, token: &str) -> Result<Option<GrantView>> {
        self.one_grant(Cond::all().add(Expr::col((Grants::Table, Grants::Token)).eq(token)))
            .await
    }

    /// The grants `ids`, read on `conn` (a transaction sees its own changes).
    pub(super) async fn grants_by_ids_on(
        &self,
        conn: &impl ConnectionTrait,
        ids: &[i64],
    ) -> Result<Vec<GrantView>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let stmt = grant_select()
            .and_where(Expr::col((Grants::Table, Grants::Id)).is_in(ids.iter().copied()))
            .order_by((Recipients::Table, Recipients::Id), Order::Asc)
            .order_by((Grants::Table, Grants::ExpiresAt), Order::Asc)
            .order_by((Grants::Table, Grants::Id), Order::Asc)
            .to_owned();
        let rows = GrantRow::find_by_statement(self.db().get_database_backend().build(&stmt))
            .all(conn)
            .await?;
        rows.into_iter().map(GrantView::try_from).collect()
    }

    /// Records a grant; a token already recorded for the same person, page, topic and kind is
    /// a replay (`true`) that changes nothing, and for anyone else a conflict (one opt-in; the
    /// service records them in batches, through [`Store::record_grants`]).
    #[cfg(test)]
    pub(crate) async fn record_grant(
        &self,
        g: &crate::domain::grant::NewGrant,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<(GrantView, bool)> {
        let batch = [(g.clone(), actor.clone())];
        let mut answers = self.record_grants(&batch, now_ms).await?;
        answers
            .pop()
            .unwrap_or_else(|| Err(Error::Internal("no answer for the opt-in".into())))
    }

    /// Revokes usable (active or stopped) grants; returns those revoked now. Grants reserved by
    /// a queued delivery are left to that delivery (cancel the notification to free them).
    pub(crate) async fn revoke(
        &self,
        target: &RevokeTarget,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<Vec<GrantView>> {
        let which = match target {
            RevokeTarget::Grant(id) => Cond::all().add(Expr::col(Grants::Id).eq(*id)),
            RevokeTarget::Topic {
                page_id,
                psid,
                topic_key,
            } => Cond::all()
                .add(
                    Expr::col(Grants::RecipientId).in_subquery(
                        Query::select()
                            .column(Recipients::Id)
                            .from(Recipients::Table)
                            .and_where(Expr::col(Recipients::PageId).eq(page_id.as_str()))
                            .and_where(Expr::col(Recipients::Psid).eq(psid.as_str()))
                            .to_owned(),
                    ),
                )
                .add(
                    Expr::col(Grants::TopicId).in_subquery(
                        Query::select()
                            .column(Topics::Id)
                            .from(Topics::Table)
                            .and_where(Expr::col(Topics::PageId).eq(page_id.as_str()))
                            .and_where(Expr::col(Topics::TopicKey).eq(topic_key.as_str()))
                            .to_owned(),
                    ),
                ),
        };
        let mut w = self.write().await?;
        let stmt = Query::update()
            .table(Grants::Table)
            .value(Grants::State, GrantState::Revoked.code())
            .value(Grants::StateChangedAt, now_ms)
            .value(Grants::RevokedBy, actor.as_str())
            .cond_where(which)
            .and_where(
                Expr::col(Grants::State).is_in(values(&[GrantState::Active, GrantState::Stopped])),
            )
            .returning_col(Grants::Id)
            .to_owned();
        let ids: Vec<i64> = w
            .txn()
            .query_all(&stmt)
            .await?
            .iter()
            .map(|r| r.try_get("", "id"))
            .collect::<Result<_, _>>()?;
        // The events (and the funnel's counts) in the transaction that revokes.
        let revoked = self.grants_by_ids_on(w.txn(), &ids).await?;
        let evs = revoked
            .iter()
            .map(|g| subject(EventKind::GrantRevoked, g, actor))
            .collect();
        events::append(&mut w, evs, now_ms).await?;
        w.commit().await?;
        Ok(revoked)
    }

    /// Moves a grant of the reserved unassigned topic to `topic`; `None` when the grant is not
    /// (or no longer) unassigned.
    pub(crate) async fn assign_grant(
        &self,
        id: i64,
        topic: &TopicKey,
        title: &Title,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<Option<GrantView>> {
        let Some(g) = self.grant(id).await? else {
            return Ok(None);
        };
        if g.topic_key != TopicKey::UNASSIGNED {
            return Ok(None);
        }
        let mut w = self.write().await?;
        let tid = self
            .upsert_topic(w.txn(), &g.page_id, topic, title, now_ms)
            .await?;
        let unassigned = Query::select()
            .column(Topics::Id)
            .from(Topics::Table)
            .and_where(Expr::col(Topics::PageId).eq(g.page_id.as_str()))
            .and_where(Expr::col(Topics::TopicKey).eq(TopicKey::UNASSIGNED))
            .to_owned();
        let stmt = Query::update()
            .table(Grants::Table)
            .value(Grants::TopicId, tid)
            .and_where(Expr::col(Grants::Id).eq(id))
            .and_where(Expr::col(Grants::TopicId).in_subquery(unassigned))
            .to_owned();
        if w.txn().execute(&stmt).await?.rows_affected() == 0 {
            return Ok(None);
        }
        let mut moved = g;
        moved.topic_key = topic.to_string();
        events::append(
            &mut w,
            vec![subject(EventKind::GrantAssigned, &moved, actor)],
            now_ms,
        )
        .await?;
        w.commit().await?;
        self.grant(id).await
    }
}
