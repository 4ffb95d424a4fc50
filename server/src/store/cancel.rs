//! Cancelling a notification: it is marked cancelled at once (nothing more is planned or queued
//! for it), then what is still queued is cancelled in short transactions and its grants
//! returned, except a delivery waiting to retry an attempt whose outcome is unknown, which is
//! given up as UNCONFIRMED with its grant spent (that attempt may have reached Meta).

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query, UpdateStatement};

use super::codes::{Code, values};
use super::completion::move_grants;
use super::deliveries::{event_of, returning};
use super::schema::{Deliveries, Grants, Notifications};
use super::{Store, WriteTxn, events};
use crate::domain::event::NewEvent;
use crate::domain::evidence::cancelled_after_unknown_outcome;
use crate::domain::notification::Actor;
use crate::domain::vocab::{DeliveryState, EventKind, GrantKind, GrantState, NotificationState};
use crate::error::Result;

/// Deliveries cancelled per transaction (a million queued ones never make one long one).
const CHUNK: u64 = 1_000;

/// Up to [`CHUNK`] of the notification's queued deliveries, whose earlier attempts may
/// (`ambiguous`) or may not have reached Meta, moved to `to`.
fn queued(id: &str, ambiguous: bool, to: DeliveryState) -> UpdateStatement {
    let some = Query::select()
        .column(Deliveries::Id)
        .from(Deliveries::Table)
        .and_where(Expr::col(Deliveries::NotificationId).eq(id))
        .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Queued.code()))
        .and_where(Expr::col(Deliveries::Ambiguous).eq(i32::from(ambiguous)))
        .limit(CHUNK)
        .to_owned();
    Query::update()
        .table(Deliveries::Table)
        .value(Deliveries::State, to.code())
        .and_where(Expr::col(Deliveries::Id).in_subquery(some))
        .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Queued.code()))
        .returning(returning())
        .to_owned()
}

impl Store {
    /// Cancels a notification: first it is marked CANCELLED (so nothing more is planned or
    /// queued for it), then, in short transactions of [`CHUNK`], its queued deliveries (those
    /// in flight finish) are cancelled and their reserved grants returned to ACTIVE; queued
    /// deliveries an earlier attempt of which may have reached Meta end UNCONFIRMED instead,
    /// their grants spent (`reusable`: the kinds a message does not use up). Returns how many
    /// deliveries were cancelled.
    pub(crate) async fn cancel_notification(
        &self,
        id: &str,
        actor: &Actor,
        reusable: &[GrantKind],
        now_ms: i64,
    ) -> Result<u64> {
        let w = self.write().await?;
        let done = Query::update()
            .table(Notifications::Table)
            .value(Notifications::State, NotificationState::Cancelled.code())
            .value(Notifications::CompletedAt, now_ms)
            .value(Notifications::Planning, 0)
            .and_where(Expr::col(Notifications::Id).eq(id))
            .and_where(Expr::col(Notifications::State).is_in(values(&[
                NotificationState::Scheduled,
                NotificationState::Dispatching,
            ])))
            .to_owned();
        w.txn().execute(&done).await?;
        w.commit().await?;
        let mut total = 0;
        loop {
            let (cancelled, more) = self.cancel_some(id, actor, reusable, now_ms).await?;
            total += cancelled;
            if !more {
                return Ok(total);
            }
        }
    }

    /// One chunk of a cancel: how many were cancelled, and whether a chunk was full.
    async fn cancel_some(
        &self,
        id: &str,
        actor: &Actor,
        reusable: &[GrantKind],
        now_ms: i64,
    ) -> Result<(u64, bool)> {
        let mut w = self.write().await?;
        let rows = w
            .txn()
            .query_all(&queued(id, false, DeliveryState::Cancelled))
            .await?;
        let mut grants = Vec::new();
        let mut evs = Vec::new();
        for r in &rows {
            grants.extend(r.try_get::<Option<i64>>("", "grant_id")?);
            let mut ev = event_of(r, EventKind::Cancelled)?;
            ev.actor = Some(actor.as_str().to_string());
            evs.push(ev);
        }
        for chunk in grants.chunks(500) {
            let release = Query::update()
                .table(Grants::Table)
                .value(Grants::State, super::grants::released())
                .value(Grants::StateChangedAt, now_ms)
                .and_where(Expr::col(Grants::State).eq(GrantState::Reserved.code()))
                .and_where(Expr::col(Grants::Id).is_in(chunk.iter().copied()))
                .to_owned();
            w.txn().execute(&release).await?;
        }
        let (unconfirmed, given_up) = self
            .give_up_unknown(&w, id, actor, reusable, now_ms)
            .await?;
        let finals = rows.len() as i64 + given_up as i64;
        evs.extend(unconfirmed);
        if finals > 0 {
            let pending = Query::update()
                .table(Notifications::Table)
                .value(
                    Notifications::Pending,
                    Expr::col(Notifications::Pending).sub(finals),
                )
                .and_where(Expr::col(Notifications::Id).eq(id))
                .to_owned();
            w.txn().execute(&pending).await?;
        }
        events::append(&mut w, evs, now_ms).await?;
        w.commit().await?;
        let more = rows.len() as u64 == CHUNK || given_up as u64 == CHUNK;
        Ok((rows.len() as u64, more))
    }

    /// Gives up a chunk of the notification's queued deliveries waiting to retry an ambiguous
    /// attempt: UNCONFIRMED, their grants spent; returns their events and how many.
    async fn give_up_unknown(
        &self,
        w: &WriteTxn<'_>,
        id: &str,
        actor: &Actor,
        reusable: &[GrantKind],
        now_ms: i64,
    ) -> Result<(Vec<NewEvent>, usize)> {
        let failure = cancelled_after_unknown_outcome();
        let mut give_up = queued(id, true, DeliveryState::Unconfirmed);
        give_up.value(Deliveries::Failure, serde_json::to_string(&failure).ok());
        let rows = w.txn().query_all(&give_up).await?;
        let mut evs = Vec::new();
        let mut held = Vec::new();
        for r in &rows {
            let mut ev = event_of(r, EventKind::Unconfirmed)?;
            ev.actor = Some(actor.as_str().to_string());
            ev.failure = Some(failure.clone());
            evs.push(ev);
            if let Some(g) = r.try_get::<Option<i64>>("", "grant_id")? {
                held.push(g);
                let mut ev = event_of(r, EventKind::GrantConsumed)?;
                ev.actor = Some(actor.as_str().to_string());
                evs.push(ev);
            }
        }
        if held.is_empty() {
            return Ok((evs, rows.len()));
        }
        let kinds = Query::select()
            .columns([Grants::Id, Grants::Kind])
            .from(Grants::Table)
            .and_where(Expr::col(Grants::Id).is_in(held.iter().copied()))
            .to_owned();
        let (mut again, mut once) = (Vec::new(), Vec::new());
        for r in w.txn().query_all(&kinds).await? {
            let kind = GrantKind::from_code(r.try_get("", "kind")?)?;
            match reusable.contains(&kind) {
                true => again.push(r.try_get::<i64>("", "id")?),
                false => once.push(r.try_get::<i64>("", "id")?),
            }
        }
        let (reserved, active, consumed) = (
            GrantState::Reserved,
            GrantState::Active,
            GrantState::Consumed,
        );
        move_grants(w, &once, reserved, consumed, false, now_ms).await?;
        move_grants(w, &again, reserved, active, true, now_ms).await?;
        Ok((evs, rows.len()))
    }
}
