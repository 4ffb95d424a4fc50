//! The durable event log. A writer's events are held by its transaction and inserted as its
//! last step, numbered there: under one lock (an advisory transaction lock on PostgreSQL, the
//! writer lock on SQLite) the transaction moves the log's head by its number of events, inserts
//! them with their sequences and commits, so sequence order is commit order with one write per
//! event and no second pass. Once a reader knows the head, every event up to it is visible, and
//! nothing ever gets a number below one already read. Writers queue only for that last step.
//! Events appended unnumbered by a replica of an older version (a rolling upgrade) are numbered
//! by [`Store::sequence`].

use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseBackend, FromQueryResult, Statement};

use super::bus::PG_SEQUENCED;
use super::codes::Code;
use super::schema::{EventCounter, Events};
use super::{Store, WriteTxn};
use crate::domain::event::{Event, EventFilter, Failure, NewEvent};
use crate::domain::funnel::{self, TallyKey};
use crate::domain::vocab::{DeliveryPath, EventKind, InteractionKind};
use crate::error::{Error, Result};

/// Lock key of the sequencer's advisory lock on PostgreSQL ("otn-sequ").
const SEQUENCER_LOCK_KEY: i64 = 0x6f74_6e2d_7365_7175;

/// At most this many events are numbered per sequencer transaction.
pub(crate) const SEQUENCE_BATCH: i64 = 5_000;

fn notify(channel: &str, payload: String) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .expr(
            Func::cust(Alias::new("pg_notify"))
                .arg(channel)
                .arg(payload),
        )
        .to_owned()
}

/// Appends `events` to the caller's transaction: they are numbered and inserted by
/// [`flush`], the transaction's last step before it commits.
pub(super) async fn append(w: &mut WriteTxn<'_>, events: Vec<NewEvent>, now_ms: i64) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    w.events_at = std::cmp::max(w.events_at, now_ms);
    w.events.extend(events);
    Ok(())
}

/// What a flush did: the log's new head, and what it added to the funnel's counts.
#[derive(Debug, Default)]
pub(super) struct Flushed {
    pub(super) head: Option<i64>,
    pub(super) tally: std::collections::BTreeMap<TallyKey, i64>,
}

/// Numbers and inserts the transaction's events (its last step): takes the log's lock, moves
/// the head by their number, inserts them with their sequences and the time of this step, adds
/// what they count to the funnel's maintained counts (`funnel_days`, under the same lock, so
/// those rows are only ever locked in this one place and order), and (PostgreSQL) queues a
/// NOTIFY delivered at commit.
pub(super) async fn flush(w: &mut WriteTxn<'_>) -> Result<Flushed> {
    if w.events.is_empty() {
        return Ok(Flushed::default());
    }
    let events = std::mem::take(&mut w.events);
    let at = w
        .stamp
        .as_ref()
        .map_or(w.events_at, |c| std::cmp::max(c.now_ms(), w.events_at));
    let txn = w.txn();
    if w.postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [SEQUENCER_LOCK_KEY.into()],
        ))
        .await?;
    }
    let head = bump_head(txn, events.len() as i64).await?;
    let first = head - events.len() as i64 + 1;
    for (n, chunk) in events.chunks(500).enumerate() {
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
            Events::Interaction,
            Events::NotBefore,
        ]);
        for (i, ev) in chunk.iter().enumerate() {
            insert.values_panic([
                (first + (n * 500 + i) as i64).into(),
                at.into(),
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
                ev.interaction.map_or(0, Code::code).into(),
                ev.not_before_ms.into(),
            ]);
        }
        txn.execute(&insert).await?;
    }
    let tally = funnel::tally(&events, at);
    super::funnel::add(txn, &tally).await?;
    if w.postgres {
        txn.execute(&notify(PG_SEQUENCED, head.to_string())).await?;
    }
    Ok(Flushed {
        head: Some(head),
        tally,
    })
}

/// Moves the log's head by `n` (under the log's lock) and returns the new head.
async fn bump_head(txn: &sea_orm::DatabaseTransaction, n: i64) -> Result<i64> {
    let bump = Query::update()
        .table(EventCounter::Table)
        .value(
            EventCounter::LastSeq,
            Expr::col(EventCounter::LastSeq).add(n),
        )
        .and_where(Expr::col(EventCounter::Id).eq(1))
        .returning_col(EventCounter::LastSeq)
        .to_owned();
    Ok(txn
        .query_one(&bump)
        .await?
        .ok_or_else(|| Error::Internal("event counter row missing".into()))?
        .try_get("", "last_seq")?)
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
    interaction: i32,
    not_before: Option<i64>,
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
                interaction: match r.interaction {
                    0 => None,
                    c => Some(InteractionKind::from_code(c)?),
                },
                implied: Default::default(),
                not_before_ms: r.not_before,
            },
        })
    }
}

/// What one sequencer step numbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sequenced {
    /// How many events were numbered.
    pub(crate) count: i64,
    /// The log's head after the step.
    pub(crate) head: i64,
}

impl Store {
    /// Numbers up to [`SEQUENCE_BATCH`] committed events that a replica of an older version
    /// appended unnumbered (during a rolling upgrade), after the head, in the order they were
    /// appended, and moves the head, in one transaction under the log's lock. Nothing to do
    /// (one indexed probe) once every replica runs this version.
    pub(crate) async fn sequence(&self, now_ms: i64) -> Result<Sequenced> {
        if self.unsequenced_events().await? == 0 {
            return Ok(Sequenced {
                count: 0,
                head: self.last_event_seq().await?,
            });
        }
        let w = self.write().await?;
        let txn = w.txn();
        let backend = self.db().get_database_backend();
        if self.is_postgres() {
            txn.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [SEQUENCER_LOCK_KEY.into()],
            ))
            .await?;
        }
        // Hand-written: one statement numbers a whole batch, in a form sea-query does not
        // build (UPDATE … FROM a window over a CTE). `$n` placeholders work on both backends.
        let numbered = txn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                "WITH picked AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM events \
                 WHERE seq IS NULL ORDER BY id LIMIT $1), \
                 counter AS (SELECT last_seq FROM event_counter WHERE id = 1) \
                 UPDATE events SET seq = counter.last_seq + picked.rn, at = $2 \
                 FROM picked, counter WHERE events.id = picked.id RETURNING seq",
                [SEQUENCE_BATCH.into(), now_ms.into()],
            ))
            .await?;
        let count = numbered.len() as i64;
        let head = bump_head(txn, count).await?;
        if count > 0 && self.is_postgres() {
            txn.execute(&notify(PG_SEQUENCED, head.to_string())).await?;
        }
        let bus = self.bus.clone();
        w.commit().await?;
        if count > 0 {
            bus.committed.wake();
        }
        Ok(Sequenced { count, head })
    }

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
            Events::Interaction,
            Events::NotBefore,
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

    /// The highest sequence number committed so far, and the highest one retention deleted.
    pub(crate) async fn log_bounds(&self) -> Result<(i64, i64)> {
        let q = Query::select()
            .columns([EventCounter::LastSeq, EventCounter::PrunedThrough])
            .from(EventCounter::Table)
            .and_where(Expr::col(EventCounter::Id).eq(1))
            .to_owned();
        Ok(match self.db().query_one(&q).await? {
            Some(r) => (r.try_get("", "last_seq")?, r.try_get("", "pruned_through")?),
            None => (0, 0),
        })
    }

    /// The highest sequence number committed so far.
    pub(crate) async fn last_event_seq(&self) -> Result<i64> {
        Ok(self.log_bounds().await?.0)
    }

    /// How many committed events the sequencer has not numbered yet.
    pub(crate) async fn unsequenced_events(&self) -> Result<i64> {
        let q = Query::select()
            .expr_as(Expr::col(Asterisk).count(), Alias::new("n"))
            .from(Events::Table)
            .and_where(Expr::col(Events::Seq).is_null())
            .to_owned();
        Ok(match self.db().query_one(&q).await? {
            Some(r) => r.try_get("", "n")?,
            None => 0,
        })
    }
}
