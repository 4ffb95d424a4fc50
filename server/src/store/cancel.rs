//! Cancelling a notification: what is still queued is cancelled and its grants returned, except
//! a delivery waiting to retry an attempt whose outcome is unknown, which is given up as
//! UNCONFIRMED with its grant spent (that attempt may have reached Meta).

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

/// The notification's queued deliveries, whose earlier attempts may (`ambiguous`) or may not
/// have reached Meta, moved to `to`.
fn queued(id: &str, ambiguous: bool, to: DeliveryState) -> UpdateStatement {
    Query::update()
        .table(Deliveries::Table)
        .value(Deliveries::State, to.code())
        .and_where(Expr::col(Deliveries::NotificationId).eq(id))
        .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Queued.code()))
        .and_where(Expr::col(Deliveries::Ambiguous).eq(i32::from(ambiguous)))
        .returning(returning())
        .to_owned()
}

impl Store {
    /// Cancels the notification's queued deliveries (those in flight finish), returns their
    /// reserved grants to ACTIVE, and marks the notification CANCELLED; queued deliveries an
    /// earlier attempt of which may have reached Meta end UNCONFIRMED instead, their grants
    /// spent (`reusable`: the kinds a message does not use up). Returns how many deliveries
    /// were cancelled.
    pub(crate) async fn cancel_notification(
        &self,
        id: &str,
        actor: &Actor,
        reusable: &[GrantKind],
        now_ms: i64,
    ) -> Result<u64> {
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
        let unconfirmed = self
            .give_up_unknown(&w, id, actor, reusable, now_ms)
            .await?;
        let finals = rows.len() as i64 + unconfirmed.len() as i64;
        evs.extend(unconfirmed);
        let done = Query::update()
            .table(Notifications::Table)
            .value(Notifications::State, NotificationState::Cancelled.code())
            .value(Notifications::CompletedAt, now_ms)
            .value(
                Notifications::Pending,
                Expr::col(Notifications::Pending).sub(finals),
            )
            .and_where(Expr::col(Notifications::Id).eq(id))
            .and_where(Expr::col(Notifications::State).is_in(values(&[
                NotificationState::Scheduled,
                NotificationState::Dispatching,
            ])))
            .to_owned();
        w.txn().execute(&done).await?;
        events::append(&mut w, evs, now_ms).await?;
        w.commit().await?;
        Ok(rows.len() as u64)
    }

    /// Gives up the notification's queued deliveries waiting to retry an ambiguous attempt:
    /// UNCONFIRMED, their grants spent; returns their events.
    async fn give_up_unknown(
        &self,
        w: &WriteTxn<'_>,
        id: &str,
        actor: &Actor,
        reusable: &[GrantKind],
        now_ms: i64,
    ) -> Result<Vec<NewEvent>> {
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
            return Ok(evs);
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
        Ok(evs)
    }
}
