//! Cancelling a notification: what is still queued is cancelled and its grants returned.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};

use super::codes::{Code, values};
use super::deliveries::{event_of, returning};
use super::schema::{Deliveries, Grants, Notifications};
use super::{Store, events};
use crate::domain::notification::Actor;
use crate::domain::vocab::{DeliveryState, EventKind, GrantState, NotificationState};
use crate::error::Result;

impl Store {
    /// Cancels the notification's queued deliveries (those in flight finish), returns their
    /// reserved grants to ACTIVE, and marks the notification CANCELLED. Returns how many
    /// deliveries were cancelled.
    pub(crate) async fn cancel_notification(
        &self,
        id: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<u64> {
        let mut w = self.write().await?;
        let cancel = Query::update()
            .table(Deliveries::Table)
            .value(Deliveries::State, DeliveryState::Cancelled.code())
            .and_where(Expr::col(Deliveries::NotificationId).eq(id))
            .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Queued.code()))
            .returning(returning())
            .to_owned();
        let rows = w.txn().query_all(&cancel).await?;
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
        let done = Query::update()
            .table(Notifications::Table)
            .value(Notifications::State, NotificationState::Cancelled.code())
            .value(Notifications::CompletedAt, now_ms)
            .value(
                Notifications::Pending,
                Expr::col(Notifications::Pending).sub(rows.len() as i64),
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
}
