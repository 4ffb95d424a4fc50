//! Tracked links: what a link of a delivery leads to, and its first click (once per delivery,
//! with its CLICKED event in the same transaction).

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};

use super::deliveries::{event_of, returning_with};
use super::schema::{Deliveries, Notifications};
use super::{Store, events};
use crate::domain::vocab::EventKind;
use crate::error::Result;

/// What a tracked link of a delivery needs: its page, and its notification's message as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkTarget {
    pub(crate) page_id: String,
    pub(crate) message: String,
}

impl Store {
    /// The page and stored message of a delivery (none when it does not exist, or no longer).
    pub(crate) async fn link_target(&self, delivery_id: i64) -> Result<Option<LinkTarget>> {
        let q = Query::select()
            .column((Deliveries::Table, Deliveries::PageId))
            .column((Notifications::Table, Notifications::Message))
            .from(Deliveries::Table)
            .inner_join(
                Notifications::Table,
                Expr::col((Notifications::Table, Notifications::Id))
                    .equals((Deliveries::Table, Deliveries::NotificationId)),
            )
            .and_where(Expr::col((Deliveries::Table, Deliveries::Id)).eq(delivery_id))
            .to_owned();
        let Some(r) = self.db().query_one(&q).await? else {
            return Ok(None);
        };
        Ok(Some(LinkTarget {
            page_id: r.try_get("", "page_id")?,
            message: r.try_get("", "message")?,
        }))
    }

    /// Records the first click of a delivery's tracked links (a CLICKED event, counted as its
    /// first engagement unless a message or postback was attributed to it before); `false`
    /// when it was clicked before.
    pub(crate) async fn record_click(&self, delivery_id: i64, now_ms: i64) -> Result<bool> {
        let stmt = Query::update()
            .table(Deliveries::Table)
            .value(Deliveries::ClickedAt, now_ms)
            .and_where(Expr::col(Deliveries::Id).eq(delivery_id))
            .and_where(Expr::col(Deliveries::ClickedAt).is_null())
            .returning(returning_with(&[Deliveries::EngagedAt]))
            .to_owned();
        let mut w = self.write().await?;
        let Some(row) = w.txn().query_one(&stmt).await? else {
            return Ok(false);
        };
        let mut ev = event_of(&row, EventKind::Clicked)?;
        ev.implied.first_engagement = row.try_get::<Option<i64>>("", "engaged_at")?.is_none();
        events::append(&mut w, vec![ev], now_ms).await?;
        w.commit().await?;
        Ok(true)
    }
}
