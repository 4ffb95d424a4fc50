//! Opt-in requests: the outbox row written before Meta is asked, and the weekly-title rule's query.

use sea_orm::sea_query::{Expr, ExprTrait, Func, OnConflict, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::codes::Code;
use super::schema::{OptInRequests, Recipients, Topics};
use super::{Store, events};
use crate::domain::event::NewEvent;
use crate::domain::notification::Actor;
use crate::domain::values::{PageId, Payload, Psid, RequestId, Title, TopicKey};
use crate::domain::vocab::{EventKind, OptInTemplate};
use crate::error::{Error, Result};

/// An opt-in request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OptInRow {
    pub(crate) id: String,
    pub(crate) page_id: String,
    pub(crate) request_id: String,
    pub(crate) psid: String,
    pub(crate) topic_key: String,
    pub(crate) title: String,
    pub(crate) payload: String,
    pub(crate) message_id: Option<String>,
    pub(crate) sent_ms: Option<i64>,
    pub(crate) created_ms: i64,
    pub(crate) template: OptInTemplate,
    pub(crate) requested_by: String,
}

#[derive(FromQueryResult)]
struct Row {
    id: String,
    page_id: String,
    request_id: String,
    psid: String,
    topic_key: String,
    title: String,
    payload: String,
    message_id: Option<String>,
    sent_at: Option<i64>,
    created_at: i64,
    template: Option<i32>,
    requested_by: Option<String>,
}

impl TryFrom<Row> for OptInRow {
    type Error = Error;
    fn try_from(r: Row) -> Result<Self> {
        Ok(OptInRow {
            template: match r.template {
                Some(c) => OptInTemplate::from_code(c)?,
                None => OptInTemplate::OneTimeNotification,
            },
            requested_by: r.requested_by.unwrap_or_default(),
            id: r.id,
            page_id: r.page_id,
            request_id: r.request_id,
            psid: r.psid,
            topic_key: r.topic_key,
            title: r.title,
            payload: r.payload,
            message_id: r.message_id,
            sent_ms: r.sent_at,
            created_ms: r.created_at,
        })
    }
}

/// An opt-in request to store before Meta is called.
#[derive(Debug, Clone)]
pub(crate) struct NewOptIn<'a> {
    pub(crate) id: &'a str,
    pub(crate) page_id: &'a PageId,
    pub(crate) request_id: &'a RequestId,
    pub(crate) psid: &'a Psid,
    pub(crate) topic_key: &'a TopicKey,
    pub(crate) title: &'a Title,
    pub(crate) payload: &'a Payload,
    pub(crate) template: OptInTemplate,
    pub(crate) actor: &'a Actor,
}

fn opt_in_select() -> SelectStatement {
    let o = |c| (OptInRequests::Table, c);
    Query::select()
        .columns([
            o(OptInRequests::Id),
            o(OptInRequests::PageId),
            o(OptInRequests::RequestId),
            o(OptInRequests::Title),
            o(OptInRequests::Payload),
            o(OptInRequests::MessageId),
            o(OptInRequests::SentAt),
            o(OptInRequests::CreatedAt),
            o(OptInRequests::Template),
            o(OptInRequests::RequestedBy),
        ])
        .column((Recipients::Table, Recipients::Psid))
        .column((Topics::Table, Topics::TopicKey))
        .from(OptInRequests::Table)
        .inner_join(
            Recipients::Table,
            Expr::col((Recipients::Table, Recipients::Id)).equals(o(OptInRequests::RecipientId)),
        )
        .inner_join(
            Topics::Table,
            Expr::col((Topics::Table, Topics::Id)).equals(o(OptInRequests::TopicId)),
        )
        .to_owned()
}

impl Store {
    async fn one_opt_in(&self, stmt: SelectStatement) -> Result<Option<OptInRow>> {
        let row = Row::find_by_statement(self.db().get_database_backend().build(&stmt))
            .one(self.db())
            .await?;
        row.map(OptInRow::try_from).transpose()
    }

    /// The opt-in request a caller made with `request_id`.
    pub(crate) async fn opt_in_by_request(
        &self,
        page_id: &str,
        request_id: &str,
    ) -> Result<Option<OptInRow>> {
        let o = |c| (OptInRequests::Table, c);
        let stmt = opt_in_select()
            .and_where(Expr::col(o(OptInRequests::PageId)).eq(page_id))
            .and_where(Expr::col(o(OptInRequests::RequestId)).eq(request_id))
            .to_owned();
        self.one_opt_in(stmt).await
    }

    /// The opt-in request with this id (from an opt-in webhook's payload).
    pub(crate) async fn opt_in_by_id(&self, id: &str) -> Result<Option<OptInRow>> {
        let stmt = opt_in_select()
            .and_where(Expr::col((OptInRequests::Table, OptInRequests::Id)).eq(id))
            .to_owned();
        self.one_opt_in(stmt).await
    }

    /// Whether the same title was sent (or is being sent) to the person since `since_ms`,
    /// other than by the request `except_id`.
    pub(crate) async fn title_asked_since(
        &self,
        page_id: &str,
        psid: &str,
        title: &str,
        since_ms: i64,
        except_id: &str,
    ) -> Result<bool> {
        let o = |c| (OptInRequests::Table, c);
        let stmt = Query::select()
            .expr(Expr::val(1))
            .from(OptInRequests::Table)
            .inner_join(
                Recipients::Table,
                Expr::col((Recipients::Table, Recipients::Id))
                    .equals(o(OptInRequests::RecipientId)),
            )
            .and_where(Expr::col((Recipients::Table, Recipients::PageId)).eq(page_id))
            .and_where(Expr::col((Recipients::Table, Recipients::Psid)).eq(psid))
            .and_where(Expr::col(o(OptInRequests::Title)).eq(title))
            .and_where(Expr::col(o(OptInRequests::Id)).ne(except_id))
            .and_where(
                Expr::expr(Func::coalesce([
                    Expr::col(o(OptInRequests::SentAt)),
                    Expr::col(o(OptInRequests::CreatedAt)),
                ]))
                .gte(since_ms),
            )
            .to_owned();
        Ok(self.db().query_one(&stmt).await?.is_some())
    }

    /// Stores the intent to send an opt-in request (before Meta is called). Returns false if
    /// another request already holds `request_id`.
    pub(crate) async fn insert_opt_in(&self, o: &NewOptIn<'_>, now_ms: i64) -> Result<bool> {
        let w = self.write().await?;
        let rid = self
            .upsert_recipient(w.txn(), o.page_id.as_str(), o.psid.as_str(), now_ms)
            .await?;
        let tid = self
            .upsert_topic(w.txn(), o.page_id.as_str(), o.topic_key, o.title, now_ms)
            .await?;
        let insert = Query::insert()
            .into_table(OptInRequests::Table)
            .columns([
                OptInRequests::Id,
                OptInRequests::PageId,
                OptInRequests::RequestId,
                OptInRequests::RecipientId,
                OptInRequests::TopicId,
                OptInRequests::Title,
                OptInRequests::Payload,
                OptInRequests::CreatedAt,
                OptInRequests::Template,
                OptInRequests::RequestedBy,
            ])
            .values_panic([
                o.id.into(),
                o.page_id.as_str().into(),
                o.request_id.as_str().into(),
                rid.into(),
                tid.into(),
                o.title.as_str().into(),
                o.payload.as_str().into(),
                now_ms.into(),
                o.template.code().into(),
                o.actor.as_str().into(),
            ])
            .on_conflict(
                OnConflict::columns([OptInRequests::PageId, OptInRequests::RequestId])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        let n = w.txn().execute(&insert).await?.rows_affected();
        w.commit().await?;
        Ok(n == 1)
    }

    /// Marks an opt-in request as sent, and logs OPT_IN_REQUESTED (once: the first time).
    pub(crate) async fn mark_opt_in_sent(
        &self,
        row: &OptInRow,
        message_id: &str,
        at_ms: i64,
    ) -> Result<()> {
        let mut w = self.write().await?;
        let stmt = Query::update()
            .table(OptInRequests::Table)
            .value(OptInRequests::MessageId, message_id)
            .value(OptInRequests::SentAt, at_ms)
            .and_where(Expr::col(OptInRequests::Id).eq(row.id.as_str()))
            .and_where(Expr::col(OptInRequests::SentAt).is_null())
            .to_owned();
        if w.txn().execute(&stmt).await?.rows_affected() == 1 {
            let mut ev = NewEvent::new(EventKind::OptInRequested, row.page_id.as_str());
            ev.topic_key = Some(row.topic_key.clone());
            ev.psid = Some(row.psid.clone());
            ev.message_id = Some(message_id.to_string()).filter(|m| !m.is_empty());
            ev.actor = Some(row.requested_by.clone()).filter(|a| !a.is_empty());
            events::append(&mut w, vec![ev], at_ms).await?;
        }
        w.commit().await
    }

    /// Drops an opt-in request that Meta refused, so the caller may try again.
    pub(crate) async fn delete_opt_in(&self, id: &str) -> Result<()> {
        let w = self.write().await?;
        let stmt = Query::delete()
            .from_table(OptInRequests::Table)
            .and_where(Expr::col(OptInRequests::Id).eq(id))
            .to_owned();
        w.txn().execute(&stmt).await?;
        w.commit().await
    }
}
