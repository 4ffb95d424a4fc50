//! The durable event log: appends under the counter row's lock so sequence order is commit
//! order, and reads after a sequence.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::bus::PG_CHANNEL;
use super::codes::Code;
use super::schema::{EventCounter, Events};
use super::{Store, WriteTxn};
use crate::domain::event::{Event, EventFilter, Failure, NewEvent};
use crate::domain::vocab::{DeliveryPath, EventKind};
use crate::error::{Error, Result};

/// Appends `events` inside the caller's transaction and returns them with their sequence
/// numbers. The counter row stays locked until the transaction ends, so a later sequence
/// number is never visible before an earlier one.
///
/// On PostgreSQL a `NOTIFY` carrying the last sequence number is queued in the same
/// transaction, so every replica's subscribers wake when (and only if) it commits.
pub(super) async fn append(
    w: &mut WriteTxn<'_>,
    events: Vec<NewEvent>,
    now_ms: i64,
) -> Result<Vec<Event>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    w.appended = true;
    let txn = w.txn();
    let n = events.len() as i64;
    let bump = Query::update()
        .table(EventCounter::Table)
        .value(
            EventCounter::LastSeq,
            Expr::col(EventCounter::LastSeq).add(n),
        )
        .and_where(Expr::col(EventCounter::Id).eq(1))
        .returning_col(EventCounter::LastSeq)
        .to_owned();
    let last: i64 = txn
        .query_one(&bump)
        .await?
        .ok_or_else(|| Error::Internal("event counter row missing".into()))?
        .try_get("", "last_seq")?;
    if w.postgres {
        let notify = Query::select()
            .expr(
                Func::cust(Alias::new("pg_notify"))
                    .arg(PG_CHANNEL)
                    .arg(last.to_string()),
            )
            .to_owned();
        txn.execute(&notify).await?;
    }
    let first = last - n + 1;
    let stored: Vec<Event> = events
        .into_iter()
        .enumerate()
        .map(|(i, event)| Event {
            seq: first + i as i64,
            at_ms: now_ms,
            event,
        })
        .collect();
    for chunk in stored.chunks(500) {
        let mut insert = Query::insert();
        insert.into_table(Events::Table).columns([
            Events::Seq,
            Events::At,
            Events::Kind,
            Events::PageId,
            Events::TopicKey,
            Events::NotificationId,
            Events::DeliveryId,
            Events::Psid,
            Events::GrantId,
            Events::MessageId,
            Events::Path,
            Events::Rule,
            Events::Failure,
            Events::Actor,
        ]);
        for e in chunk {
            let ev = &e.event;
            insert.values_panic([
                e.seq.into(),
                e.at_ms.into(),
                ev.kind.code().into(),
                ev.page_id.clone().into(),
                ev.topic_key.clone().into(),
                ev.notification_id.clone().into(),
                ev.delivery_id.map(|d| d.to_string()).into(),
                ev.psid.clone().into(),
                ev.grant_id.into(),
                ev.message_id.clone().into(),
                ev.path.map_or(0, Code::code).into(),
                ev.rule.clone().into(),
                ev.failure
                    .as_ref()
                    .and_then(|f| serde_json::to_string(f).ok())
                    .into(),
                ev.actor.clone().into(),
            ]);
        }
        txn.execute(&insert).await?;
    }
    Ok(stored)
}

#[derive(FromQueryResult)]
struct EventRow {
    seq: i64,
    at: i64,
    kind: i32,
    page_id: String,
    topic_key: Option<String>,
    notification_id: Option<String>,
    delivery_id: Option<String>,
    psid: Option<String>,
    grant_id: Option<i64>,
    message_id: Option<String>,
    path: i32,
    rule: Option<String>,
    failure: Option<String>,
    actor: Option<String>,
}

impl TryFrom<EventRow> for Event {
    type Error = Error;
    fn try_from(r: EventRow) -> Result<Self> {
        Ok(Event {
            seq: r.seq,
            at_ms: r.at,
            event: NewEvent {
                kind: EventKind::from_code(r.kind)?,
                page_id: r.page_id,
                topic_key: r.topic_key,
                notification_id: r.notification_id,
                delivery_id: r.delivery_id.and_then(|d| d.parse().ok()),
                psid: r.psid,
                grant_id: r.grant_id,
                message_id: r.message_id,
                path: match r.path {
                    0 => None,
                    c => Some(DeliveryPath::from_code(c)?),
                },
                rule: r.rule,
                failure: r
                    .failure
                    .and_then(|f| serde_json::from_str::<Failure>(&f).ok()),
                actor: r.actor,
            },
        })
    }
}

impl Store {
    /// Up to `limit` events after `after_seq` that match `filter`, oldest first.
    pub(crate) async fn events_after(
        &self,
        after_seq: i64,
        filter: &EventFilter,
        limit: u64,
    ) -> Result<Vec<Event>> {
        let mut q = Query::select();
        q.columns([
            Events::Seq,
            Events::At,
            Events::Kind,
            Events::PageId,
            Events::TopicKey,
            Events::NotificationId,
            Events::DeliveryId,
            Events::Psid,
            Events::GrantId,
            Events::MessageId,
            Events::Path,
            Events::Rule,
            Events::Failure,
            Events::Actor,
        ])
        .from(Events::Table)
        .and_where(Expr::col(Events::Seq).gt(after_seq));
        if let Some(pages) = &filter.page_ids {
            q.and_where(Expr::col(Events::PageId).is_in(pages.iter().cloned()));
        }
        if let Some(t) = &filter.topic_key {
            q.and_where(Expr::col(Events::TopicKey).eq(t.clone()));
        }
        if let Some(n) = &filter.notification_id {
            q.and_where(Expr::col(Events::NotificationId).eq(n.clone()));
        }
        q.order_by(Events::Seq, Order::Asc).limit(limit);
        let rows = EventRow::find_by_statement(self.db().get_database_backend().build(&q))
            .all(self.db())
            .await?;
        rows.into_iter().map(Event::try_from).collect()
    }

    /// The highest sequence number committed so far.
    pub(crate) async fn last_event_seq(&self) -> Result<i64> {
        let q = Query::select()
            .column(EventCounter::LastSeq)
            .from(EventCounter::Table)
            .and_where(Expr::col(EventCounter::Id).eq(1))
            .to_owned();
        Ok(match self.db().query_one(&q).await? {
            Some(r) => r.try_get("", "last_seq")?,
            None => 0,
        })
    }
}
