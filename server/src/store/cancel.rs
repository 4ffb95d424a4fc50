//! Cancelling a notification: what is still queued is cancelled and its grants returned.

use sea_orm::ConnectionTrait;

use super::deliveries::{RETURNING, event_of};
use super::notifications::{delivery_state as ds, state as ns};
use super::{Store, events, sql::Sql};
use crate::domain::event::EventKind;
use crate::domain::grant::GrantState;
use crate::error::Result;

impl Store {
    /// Cancels the notification's queued deliveries (those in flight finish), returns their
    /// reserved grants to ACTIVE, and marks the notification CANCELLED. Returns how many
    /// deliveries were cancelled.
    pub async fn cancel_notification(&self, id: &str, now_ms: i64) -> Result<u64> {
        let mut w = self.write().await?;
        let mut s = Sql::new("UPDATE deliveries SET state = ");
        s.bind(ds::CANCELLED)
            .push(" WHERE notification_id = ")
            .bind(id)
            .push(" AND state = ")
            .bind(ds::QUEUED)
            .push(RETURNING);
        let rows = w.txn.query_all_raw(self.stmt(&s.text, s.values)).await?;
        let mut grants = Vec::new();
        let mut evs = Vec::new();
        for r in &rows {
            grants.extend(r.try_get::<Option<i64>>("", "grant_id")?);
            evs.push(event_of(r, EventKind::Cancelled)?);
        }
        for chunk in grants.chunks(500) {
            let mut s = Sql::new("UPDATE grants SET state = ");
            s.bind(GrantState::Active as i32)
                .push(", state_changed_at = ")
                .bind(now_ms)
                .push(" WHERE state = ")
                .bind(GrantState::Reserved as i32)
                .push(" AND id IN (")
                .bind_list(chunk)
                .push(")");
            w.txn.execute_raw(self.stmt(&s.text, s.values)).await?;
        }
        let mut s = Sql::new("UPDATE notifications SET state = ");
        s.bind(ns::CANCELLED)
            .push(", completed_at = ")
            .bind(now_ms)
            .push(" WHERE id = ")
            .bind(id)
            .push(" AND state IN (")
            .bind_list(&[ns::SCHEDULED, ns::DISPATCHING])
            .push(")");
        w.txn.execute_raw(self.stmt(&s.text, s.values)).await?;
        events::append(self, &mut w, evs, now_ms).await?;
        w.commit().await?;
        Ok(rows.len() as u64)
    }
}
