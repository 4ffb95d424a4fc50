//! STOP and RESUME from Meta: applied to the grant of the token, or kept until its opt-in
//! arrives (webhooks come out of order).

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockType, OnConflict, Query, SubQueryStatement};

use super::codes::Code;
use super::codes::values;
use super::deliveries::{event_of, returning};
use super::schema::{Deliveries, Grants, Recipients, TokenStatuses, Topics};
use super::{Store, events};
use crate::domain::event::{Failure, NewEvent};
use crate::domain::notification::Actor;
use crate::domain::vocab::{DeliveryState, EventKind, GrantState};
use crate::error::Result;

/// The failure recorded on a queued delivery whose grant Meta stopped before it was sent.
fn stopped_before_send() -> Failure {
    Failure {
        reason: "STOPPED".into(),
        code: 0,
        subcode: 0,
        message: "the person stopped these messages (STOP NOTIFICATIONS) before the send".into(),
    }
}

impl Store {
    /// Applies a STOP (`stop`) or RESUME from Meta, made at `at_ms` on Meta's clock, to the
    /// grant with this token. STOPs and RESUMEs are ordered among themselves by Meta's time
    /// (`status_at`), never against otn's own state changes, so duplicate and out-of-order
    /// webhooks are harmless. A STOP always takes effect: an active grant stops; a grant held
    /// by a queued send stops and that send fails (`STOPPED`, it is not sent); a grant whose
    /// send is in flight stops when that send ends without spending it. A status for a token
    /// not recorded yet is kept and applied when its opt-in arrives.
    pub(crate) async fn set_stopped(
        &self,
        page_id: &str,
        psid: &str,
        token: &str,
        stop: bool,
        at_ms: i64,
        now_ms: i64,
    ) -> Result<bool> {
        let mut w = self.write().await?;
        let person = Query::select()
            .column(Recipients::Id)
            .from(Recipients::Table)
            .and_where(Expr::col(Recipients::PageId).eq(page_id))
            .and_where(Expr::col(Recipients::Psid).eq(psid))
            .to_owned();
        let topic = Query::select()
            .column((Topics::Table, Topics::TopicKey))
            .from(Topics::Table)
            .and_where(
                Expr::col((Topics::Table, Topics::Id)).equals((Grants::Table, Grants::TopicId)),
            )
            .to_owned();
        let mut find = Query::select()
            .columns([
                Grants::Id,
                Grants::State,
                Grants::StatusAt,
                Grants::MetaStopped,
            ])
            .expr_as(SubQueryStatement::from(topic), Alias::new("topic_key"))
            .from(Grants::Table)
            .and_where(Expr::col(Grants::Token).eq(token))
            .and_where(Expr::col(Grants::PageId).eq(page_id))
            .and_where(Expr::col(Grants::RecipientId).in_subquery(person))
            .to_owned();
        if w.postgres {
            find.lock(LockType::Update);
        }
        let mut applied = false;
        match w.txn().query_one(&find).await? {
            Some(row) => {
                let id: i64 = row.try_get("", "id")?;
                let state = GrantState::from_code(row.try_get("", "state")?)?;
                let status_at: Option<i64> = row.try_get("", "status_at")?;
                let was_stopped = row.try_get::<i32>("", "meta_stopped")? == 1;
                let topic_key: Option<String> = row.try_get("", "topic_key")?;
                if status_at.is_some_and(|t| t >= at_ms) {
                    // Not newer than the status already applied.
                    w.commit().await?;
                    return Ok(false);
                }
                let to = match (state, stop) {
                    (GrantState::Active, true) => GrantState::Stopped,
                    (GrantState::Stopped, false) => GrantState::Active,
                    (s, _) => s,
                };
                let mut update = Query::update();
                update
                    .table(Grants::Table)
                    .value(Grants::StatusAt, at_ms)
                    .value(Grants::MetaStopped, i32::from(stop))
                    .and_where(Expr::col(Grants::Id).eq(id));
                if to != state {
                    update
                        .value(Grants::State, to.code())
                        .value(Grants::StateChangedAt, at_ms);
                }
                w.txn().execute(&update).await?;
                let mut evs = Vec::new();
                if stop && state == GrantState::Reserved {
                    evs.extend(self.fail_queued_send(&w, id, at_ms, now_ms).await?);
                }
                applied = match stop {
                    true => matches!(state, GrantState::Active | GrantState::Reserved),
                    false => {
                        state == GrantState::Stopped
                            || (state == GrantState::Reserved && was_stopped)
                    }
                };
                if applied {
                    let kind = match stop {
                        true => EventKind::GrantStopped,
                        false => EventKind::GrantResumed,
                    };
                    let mut ev = NewEvent::new(kind, page_id);
                    ev.topic_key = topic_key;
                    ev.psid = Some(psid.to_string());
                    ev.grant_id = Some(id);
                    ev.actor = Some(Actor::meta().as_str().to_string());
                    evs.push(ev);
                }
                events::append(&mut w, evs, now_ms).await?;
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

    /// Fails the queued (not yet claimed) delivery holding grant `id`, stops the grant and
    /// lowers the notification's pending count; returns the delivery's FAILED event. A
    /// delivery waiting to retry an attempt whose outcome is unknown ends UNCONFIRMED instead
    /// (that attempt may have reached Meta). A delivery already in flight is left to finish:
    /// its grant stops when it is released.
    async fn fail_queued_send(
        &self,
        w: &super::WriteTxn<'_>,
        id: i64,
        at_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<NewEvent>> {
        let failure = stopped_before_send();
        let mut found = None;
        for (to, ambiguous) in [(DeliveryState::Failed, 0), (DeliveryState::Unconfirmed, 1)] {
            let fail = Query::update()
                .table(Deliveries::Table)
                .value(Deliveries::State, to.code())
                .value(Deliveries::Failure, serde_json::to_string(&failure).ok())
                .and_where(Expr::col(Deliveries::GrantId).eq(id))
                .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Queued.code()))
                .and_where(Expr::col(Deliveries::Ambiguous).eq(ambiguous))
                .returning(returning())
                .to_owned();
            if let Some(row) = w.txn().query_one(&fail).await? {
                found = Some((row, to));
                break;
            }
        }
        let Some((row, to)) = found else {
            return Ok(Vec::new());
        };
        let stop = Query::update()
            .table(Grants::Table)
            .value(Grants::State, GrantState::Stopped.code())
            .value(Grants::StateChangedAt, at_ms)
            .and_where(Expr::col(Grants::Id).eq(id))
            .and_where(Expr::col(Grants::State).is_in(values(&[GrantState::Reserved])))
            .to_owned();
        w.txn().execute(&stop).await?;
        let kind = match to {
            DeliveryState::Unconfirmed => EventKind::Unconfirmed,
            _ => EventKind::Failed,
        };
        let mut ev = event_of(&row, kind)?;
        ev.failure = Some(failure);
        ev.actor = Some(Actor::meta().as_str().to_string());
        let notification: String = row.try_get("", "notification_id")?;
        super::completion::settle(w, &[(notification, 1)].into_iter().collect(), now_ms).await?;
        Ok(vec![ev])
    }
}
