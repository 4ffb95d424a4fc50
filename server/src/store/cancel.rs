//! Cancelling a notification: it is marked cancelled at once, then what is still queued is
//! cancelled in short transactions and its grants returned.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};

use super::codes::{Code, values};
use super::deliveries::{event_of, returning};
use super::schema::{Deliveries, Grants, Notifications};
use super::{Store, events};
use crate::domain::notification::Actor;
use crate::domain::vocab::{DeliveryState, EventKind, GrantState, NotificationState};
use crate::error::Result;

/// Deliveries cancelled per transaction (a million queued ones never make one long one).
const CHUNK: u64 = 1_000;

impl Store {
    /// Cancels a notification: first it is marked CANCELLED (so nothing more is planned or
    /// queued for it), then its queued deliveries (those in flight finish) are cancelled and
    /// their reserved grants returned to ACTIVE, in short transactions of [`CHUNK`]. Returns
    /// how many deliveries were cancelled.
    pub(crate) async fn cancel_notification(
        &self,
        id: &str,
        actor: &Actor,
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
            let n = self.cancel_some(id, actor, now_ms).await?;
            total += n;
            if n < CHUNK {
                return Ok(total);
            }
        }
    }

    /// Cancels up to [`CHUNK`] of the notification's queued deliveries in one transaction.
    async fn cancel_some(&self, id: &str, actor: &Actor, now_ms: i64) -> Result<u64> {
        let mut w = self.write().await?;
        let some = Query::select()
            .column(Deliveries::Id)
            .from(Deliveries::Table)
            .and_where(Expr::col(Deliveries::NotificationId).eq(id))
            .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Queued.code()))
            .limit(CHUNK)
            .to_owned();
        let cancel = Query::update()
            .table(Deliveries::Table)
            .value(Deliveries::State, DeliveryState::Cancelled.code())
            .and_where(Expr::col(Deliveries::Id).in_subquery(some))
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
        if !rows.is_empty() {
            let pending = Query::update()
                .table(Notifications::Table)
                .value(
                    Notifications::Pending,
                    Expr::col(Notifications::Pending).sub(rows.len() as i64),
                )
                .and_where(Expr::col(Notifications::Id).eq(id))
                .to_owned();
            w.txn().execute(&pending).await?;
        }
        events::append(&mut w, evs, now_ms).await?;
        w.commit().await?;
        Ok(rows.len() as u64)
    }
}
