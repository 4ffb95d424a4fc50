//! One notification's deliveries for an export, in windows of the primary key: each read is a
//! range of ids (the notification's deliveries were queued in chunks, so their ids are mostly
//! consecutive), never the whole notification at once.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::Store;
use super::codes::Code;
use super::schema::Deliveries;
use crate::domain::event::Failure;
use crate::domain::vocab::{DeliveryPath, DeliveryState};
use crate::error::Result;

/// One delivery as exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportRow {
    pub(crate) delivery_id: i64,
    pub(crate) psid: String,
    pub(crate) path: DeliveryPath,
    pub(crate) state: DeliveryState,
    pub(crate) grant_id: Option<i64>,
    pub(crate) message_id: Option<String>,
    pub(crate) attempts: i32,
    pub(crate) created_ms: i64,
    pub(crate) sent_ms: Option<i64>,
    pub(crate) engaged_ms: Option<i64>,
    pub(crate) clicked_ms: Option<i64>,
    pub(crate) failure_reason: Option<String>,
}

#[derive(FromQueryResult)]
struct Row {
    id: i64,
    psid: String,
    path: i32,
    state: i32,
    grant_id: Option<i64>,
    message_id: Option<String>,
    attempts: i32,
    created_at: i64,
    sent_at: Option<i64>,
    engaged_at: Option<i64>,
    clicked_at: Option<i64>,
    failure: Option<String>,
}

impl Store {
    /// The lowest and highest delivery id of a notification (none when it has no delivery).
    pub(crate) async fn delivery_id_span(
        &self,
        notification_id: &str,
    ) -> Result<Option<(i64, i64)>> {
        let q = Query::select()
            .expr_as(Func::min(Expr::col(Deliveries::Id)), Alias::new("lo"))
            .expr_as(Func::max(Expr::col(Deliveries::Id)), Alias::new("hi"))
            .from(Deliveries::Table)
            .and_where(Expr::col(Deliveries::NotificationId).eq(notification_id))
            .to_owned();
        let Some(r) = self.db().query_one(&q).await? else {
            return Ok(None);
        };
        let lo: Option<i64> = r.try_get("", "lo")?;
        let hi: Option<i64> = r.try_get("", "hi")?;
        Ok(lo.zip(hi))
    }

    /// The notification's deliveries with ids in `from..to`, by id.
    pub(crate) async fn export_window(
        &self,
        notification_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ExportRow>> {
        let q = Query::select()
            .columns([
                Deliveries::Id,
                Deliveries::Psid,
                Deliveries::Path,
                Deliveries::State,
                Deliveries::GrantId,
                Deliveries::MessageId,
                Deliveries::Attempts,
                Deliveries::CreatedAt,
                Deliveries::SentAt,
                Deliveries::EngagedAt,
                Deliveries::ClickedAt,
                Deliveries::Failure,
            ])
            .from(Deliveries::Table)
            .and_where(Expr::col(Deliveries::Id).gte(from))
            .and_where(Expr::col(Deliveries::Id).lt(to))
            .and_where(Expr::col(Deliveries::NotificationId).eq(notification_id))
            .order_by(Deliveries::Id, Order::Asc)
            .to_owned();
        let rows = Row::find_by_statement(self.db().get_database_backend().build(&q))
            .all(self.db())
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ExportRow {
                    delivery_id: r.id,
                    psid: r.psid,
                    path: DeliveryPath::from_code(r.path)?,
                    state: DeliveryState::from_code(r.state)?,
                    grant_id: r.grant_id,
                    message_id: r.message_id.filter(|m| !m.is_empty()),
                    attempts: r.attempts,
                    created_ms: r.created_at,
                    sent_ms: r.sent_at,
                    engaged_ms: r.engaged_at,
                    clicked_ms: r.clicked_at,
                    failure_reason: r
                        .failure
                        .and_then(|f| serde_json::from_str::<Failure>(&f).ok())
                        .map(|f| f.reason),
                })
            })
            .collect()
    }
}
