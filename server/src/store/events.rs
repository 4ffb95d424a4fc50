//! The durable event log: appends under the counter row's lock so sequence order is commit order.

use sea_orm::{ConnectionTrait, FromQueryResult, Value};

use super::{Store, WriteTxn};
use crate::domain::event::{Event, EventKind, Failure, NewEvent, Path};
use crate::error::Result;
use crate::events::bus::PG_CHANNEL;

/// Appends `events` inside the caller's transaction and returns them with their sequence
/// numbers. The counter row stays locked until the transaction ends, so a later sequence
/// number is never visible before an earlier one.
///
/// On PostgreSQL a `NOTIFY` carrying the last sequence number is queued in the same
/// transaction, so every replica's subscribers wake when (and only if) it commits.
pub async fn append(
    store: &Store,
    w: &mut WriteTxn<'_>,
    events: Vec<NewEvent>,
    now_ms: i64,
) -> Result<Vec<Event>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    w.appended = true;
    let txn = &w.txn;
    let n = events.len() as i64;
    let row = txn
        .query_one_raw(store.stmt(
            "UPDATE event_counter SET last_seq = last_seq + ? WHERE id = 1 RETURNING last_seq",
            vec![n.into()],
        ))
        .await?
        .ok_or_else(|| crate::error::Error::Internal("event counter row missing".into()))?;
    let last: i64 = row.try_get("", "last_seq")?;
    if store.backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_raw(store.stmt(
            "SELECT pg_notify(?, ?)",
            vec![PG_CHANNEL.into(), last.to_string().into()],
        ))
        .await?;
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
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 13);
        for e in chunk {
            let ev = &e.event;
            values.extend([
                e.seq.into(),
                e.at_ms.into(),
                (ev.kind as i32).into(),
                ev.page_id.clone().into(),
                ev.topic_key.clone().into(),
                ev.notification_id.clone().into(),
                ev.delivery_id.clone().into(),
                ev.psid.clone().into(),
                ev.grant_id.into(),
                ev.message_id.clone().into(),
                (ev.path as i32).into(),
                ev.rule.clone().into(),
                ev.failure
                    .as_ref()
                    .and_then(|f| serde_json::to_string(f).ok())
                    .into(),
            ]);
        }
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        txn.execute_raw(store.stmt(
            &format!(
                "INSERT INTO events (seq, at, kind, page_id, topic_key, notification_id, \
                 delivery_id, psid, grant_id, message_id, path, rule, failure) VALUES {rows}"
            ),
            values,
        ))
        .await?;
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
}

fn kind_of(v: i32) -> EventKind {
    use EventKind::*;
    [
        Queued,
        Sent,
        Delivered,
        Read,
        Failed,
        GrantConsumed,
        OptInRecorded,
        Engaged,
        Cancelled,
        RetryScheduled,
    ]
    .into_iter()
    .find(|k| *k as i32 == v)
    .unwrap_or(Failed)
}

impl From<EventRow> for Event {
    fn from(r: EventRow) -> Self {
        Event {
            seq: r.seq,
            at_ms: r.at,
            event: NewEvent {
                kind: kind_of(r.kind),
                page_id: r.page_id,
                topic_key: r.topic_key,
                notification_id: r.notification_id,
                delivery_id: r.delivery_id,
                psid: r.psid,
                grant_id: r.grant_id,
                message_id: r.message_id,
                path: Path::from_i32(r.path),
                rule: r.rule,
                failure: r
                    .failure
                    .and_then(|f| serde_json::from_str::<Failure>(&f).ok()),
            },
        }
    }
}

/// Filters of an event read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub page_id: Option<String>,
    pub topic_key: Option<String>,
    pub notification_id: Option<String>,
}

impl Store {
    /// Up to `limit` events after `after_seq` that match `filter`, oldest first.
    pub async fn events_after(
        &self,
        after_seq: i64,
        filter: &EventFilter,
        limit: u64,
    ) -> Result<Vec<Event>> {
        let mut sql = String::from(
            "SELECT seq, at, kind, page_id, topic_key, notification_id, delivery_id, psid, \
             grant_id, message_id, path, rule, failure FROM events WHERE seq > ?",
        );
        let mut values: Vec<Value> = vec![after_seq.into()];
        for (col, v) in [
            ("page_id", &filter.page_id),
            ("topic_key", &filter.topic_key),
            ("notification_id", &filter.notification_id),
        ] {
            if let Some(v) = v {
                sql.push_str(&format!(" AND {col} = ?"));
                values.push(v.clone().into());
            }
        }
        sql.push_str(" ORDER BY seq LIMIT ?");
        values.push((limit as i64).into());
        let rows = EventRow::find_by_statement(self.stmt(&sql, values))
            .all(self.db())
            .await?;
        Ok(rows.into_iter().map(Event::from).collect())
    }

    /// The highest sequence number committed so far.
    pub async fn last_event_seq(&self) -> Result<i64> {
        let row = self
            .db()
            .query_one_raw(self.stmt("SELECT last_seq FROM event_counter WHERE id = 1", vec![]))
            .await?;
        Ok(match row {
            Some(r) => r.try_get("", "last_seq")?,
            None => 0,
        })
    }
}
