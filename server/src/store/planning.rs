//! The statements of chunked planning: the scans a chunk reads (usable grants in opt-in order,
//! everyone on a topic by person), and the one short transaction that applies a chunk —
//! grants reserved, deliveries queued with their events, the plan's counts and the cursor
//! moved, compared-and-set so two planners never apply the same chunk.

use std::collections::HashSet;

use sea_orm::sea_query::{Expr, ExprTrait, LockType, Order, Query};
use sea_orm::{ConnectionTrait, Statement};

use super::codes::Code;
use super::notifications::{plan_json, plan_of, queue_deliveries};
use super::schema::{Deliveries, Grants, Notifications, Recipients};
use super::{Store, WriteTxn, events};
use crate::domain::grant::TagFilter;
use crate::domain::notification::Notification;
use crate::domain::planning::{ChunkPlan, Cursor, Scanned, Spec, drop_lost, merge};
use crate::domain::values::{Psid, Region, Tag};
use crate::domain::vocab::{GrantState, MessageTag, NotificationState};
use crate::error::{Error, Result};

/// What applying a chunk did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Applied: this many deliveries queued (grants another send took first are left out).
    Queued(u64),
    /// Another planner applied this chunk first (the cursor moved): read again.
    Moved,
    /// The notification is no longer open (cancelled): planning stopped.
    Closed,
}

/// A send's [`Spec`] as stored with its notification (`audience`).
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct StoredSpec {
    all_of: Vec<String>,
    any_of: Vec<String>,
    none_of: Vec<String>,
    regions: Vec<String>,
    named: Option<Vec<String>>,
    include_window: bool,
    message_tag: Option<String>,
    max_recipients: Option<u32>,
    #[serde(default)]
    polite: crate::domain::polite::Polite,
}

/// The stored form of a spec.
pub(super) fn spec_json(s: &Spec) -> Result<String> {
    let strs = |v: &[Tag]| v.iter().map(|t| t.as_str().to_string()).collect();
    let stored = StoredSpec {
        all_of: strs(&s.tags.all_of),
        any_of: strs(&s.tags.any_of),
        none_of: strs(&s.tags.none_of),
        regions: s.regions.iter().map(|r| r.as_str().to_string()).collect(),
        named: s
            .named
            .as_ref()
            .map(|n| n.iter().map(|p| p.as_str().to_string()).collect()),
        include_window: s.include_window,
        message_tag: s.message_tag.map(|t| t.as_str().to_string()),
        max_recipients: s.max_recipients,
        polite: s.polite.clone(),
    };
    serde_json::to_string(&stored).map_err(|e| Error::Internal(format!("spec: {e}")))
}

/// A spec as stored; values were validated when the send was made.
pub(crate) fn spec_of(json: &str) -> Result<Spec> {
    let bad = |e: String| Error::Internal(format!("stored audience: {e}"));
    let s: StoredSpec = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    let tags = |v: Vec<String>| -> Result<Vec<Tag>> {
        v.iter()
            .map(|t| Tag::parse("tag", t).map_err(|e| bad(e.description)))
            .collect()
    };
    Ok(Spec {
        tags: TagFilter {
            all_of: tags(s.all_of)?,
            any_of: tags(s.any_of)?,
            none_of: tags(s.none_of)?,
        },
        regions: s
            .regions
            .iter()
            .map(|r| Region::parse("region", r).map_err(|e| bad(e.description)))
            .collect::<Result<_>>()?,
        named: s
            .named
            .map(|n| {
                n.iter()
                    .map(|p| Psid::parse("psid", p).map_err(|e| bad(e.description)))
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?,
        include_window: s.include_window,
        message_tag: s.message_tag.as_deref().and_then(MessageTag::from_name),
        max_recipients: s.max_recipients,
        polite: s.polite,
    })
}

/// The stored form of a cursor.
pub(super) fn cursor_json(c: &Cursor) -> Result<String> {
    serde_json::to_string(c).map_err(|e| Error::Internal(format!("cursor: {e}")))
}

fn cursor_of(json: Option<&str>) -> Cursor {
    json.and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or(Cursor::Done)
}

impl Store {
    /// Up to `limit` usable grants on the topic after `after` in opt-in order (opt-in time,
    /// then id); only of these people when `only` is given.
    pub(crate) async fn usable_in_opt_in_order(
        &self,
        topic_id: i64,
        only: Option<&[i64]>,
        after: (i64, i64),
        limit: u64,
        now_ms: i64,
    ) -> Result<Vec<Scanned>> {
        let g = |c: Grants| (Grants::Table, c);
        let mut q = Query::select();
        q.columns([g(Grants::Id), g(Grants::RecipientId), g(Grants::OptedInAt)])
            .from(Grants::Table)
            .and_where(Expr::col(g(Grants::TopicId)).eq(topic_id))
            // Written into the statement: it must match the partial index's predicate.
            .and_where(Expr::col(g(Grants::State)).eq(GrantState::Active.literal()))
            .and_where(
                Expr::col(g(Grants::ExpiresAt))
                    .is_null()
                    .or(Expr::col(g(Grants::ExpiresAt)).gt(now_ms)),
            )
            .and_where(
                Expr::col(g(Grants::OptedInAt))
                    .gt(after.0)
                    .or(Expr::col(g(Grants::OptedInAt))
                        .eq(after.0)
                        .and(Expr::col(g(Grants::Id)).gt(after.1))),
            )
            .order_by(g(Grants::OptedInAt), Order::Asc)
            .order_by(g(Grants::Id), Order::Asc)
            .limit(limit);
        if let Some(ids) = only {
            q.and_where(Expr::col(g(Grants::RecipientId)).is_in(ids.iter().copied()));
        }
        let rows = self.db().query_all(&q).await?;
        rows.iter()
            .map(|r| {
                Ok(Scanned {
                    grant_id: r.try_get("", "id")?,
                    recipient_id: r.try_get("", "recipient_id")?,
                    opted_in_ms: r.try_get("", "opted_in_at")?,
                })
            })
            .collect()
    }

    /// Up to `limit` people holding (or having held) a grant on the topic, by row id after
    /// `after`.
    pub(crate) async fn topic_people_after(
        &self,
        topic_id: i64,
        after: i64,
        limit: u64,
    ) -> Result<Vec<i64>> {
        let q = Query::select()
            .distinct()
            .column(Grants::RecipientId)
            .from(Grants::Table)
            .and_where(Expr::col(Grants::TopicId).eq(topic_id))
            .and_where(Expr::col(Grants::RecipientId).gt(after))
            .order_by(Grants::RecipientId, Order::Asc)
            .limit(limit)
            .to_owned();
        let rows = self.db().query_all(&q).await?;
        rows.iter()
            .map(|r| Ok(r.try_get("", "recipient_id")?))
            .collect()
    }

    /// The row ids of the page's people among `psids` (those it knows).
    pub(crate) async fn recipient_ids(&self, page_id: &str, psids: &[Psid]) -> Result<Vec<i64>> {
        let mut out = Vec::new();
        for chunk in psids.chunks(500) {
            let q = Query::select()
                .column(Recipients::Id)
                .from(Recipients::Table)
                .and_where(Expr::col(Recipients::PageId).eq(page_id))
                .and_where(
                    Expr::col(Recipients::Psid).is_in(chunk.iter().map(|p| p.as_str().to_string())),
                )
                .to_owned();
            for r in self.db().query_all(&q).await? {
                out.push(r.try_get("", "id")?);
            }
        }
        Ok(out)
    }

    /// Which of `people` already have a delivery of the notification.
    pub(crate) async fn queued_among(
        &self,
        notification_id: &str,
        people: &[i64],
    ) -> Result<HashSet<i64>> {
        let mut out = HashSet::new();
        for chunk in people.chunks(500) {
            let q = Query::select()
                .column(Deliveries::RecipientId)
                .from(Deliveries::Table)
                .and_where(Expr::col(Deliveries::NotificationId).eq(notification_id))
                .and_where(Expr::col(Deliveries::RecipientId).is_in(chunk.iter().copied()))
                .to_owned();
            for r in self.db().query_all(&q).await? {
                out.insert(r.try_get("", "recipient_id")?);
            }
        }
        Ok(out)
    }

    /// Notifications whose planning is not finished, oldest first (at most `limit`).
    pub(crate) async fn planning_notifications(&self, limit: u64) -> Result<Vec<String>> {
        let q = Query::select()
            .column(Notifications::Id)
            .from(Notifications::Table)
            .and_where(Expr::col(Notifications::Planning).eq(Expr::cust("1")))
            .order_by(Notifications::CreatedAt, Order::Asc)
            .limit(limit)
            .to_owned();
        let rows = self.db().query_all(&q).await?;
        rows.iter().map(|r| Ok(r.try_get("", "id")?)).collect()
    }

    /// Where a notification's planning stands, and its audience.
    pub(crate) async fn plan_position(&self, id: &str) -> Result<Option<(Cursor, Spec)>> {
        let q = Query::select()
            .columns([Notifications::PlanCursor, Notifications::Audience])
            .from(Notifications::Table)
            .and_where(Expr::col(Notifications::Id).eq(id))
            .to_owned();
        Ok(match self.db().query_one(&q).await? {
            Some(r) => Some((
                cursor_of(r.try_get::<Option<String>>("", "plan_cursor")?.as_deref()),
                spec_of(
                    &r.try_get::<Option<String>>("", "audience")?
                        .unwrap_or_else(|| "{}".into()),
                )?,
            )),
            None => None,
        })
    }

    /// Applies one planned chunk in the caller's transaction (commit it when this answers
    /// [`Applied::Queued`], roll it back otherwise): reserves its grants (a grant another send
    /// reserved first is left out and counted RESERVED), queues its deliveries and their
    /// events, adds its counts to the plan, and moves the cursor from `from` to `to` — only if
    /// it is still at `from`. Reaching [`Cursor::Done`] with nothing pending completes the
    /// notification. Locks in the order completion does (grants, then the notification row),
    /// so the two never wait on each other in a cycle.
    pub(crate) async fn apply_plan_chunk(
        &self,
        w: &mut WriteTxn<'_>,
        n: &Notification,
        from: &Cursor,
        to: &Cursor,
        mut chunk: ChunkPlan,
        now_ms: i64,
    ) -> Result<Applied> {
        let wanted: Vec<i64> = chunk.deliveries.iter().filter_map(|d| d.grant_id).collect();
        let mut reserved: HashSet<i64> = HashSet::with_capacity(wanted.len());
        for part in wanted.chunks(500) {
            let stmt = Query::update()
                .table(Grants::Table)
                .value(Grants::State, GrantState::Reserved.code())
                .value(Grants::StateChangedAt, now_ms)
                .and_where(Expr::col(Grants::State).eq(GrantState::Active.code()))
                .and_where(Expr::col(Grants::Id).is_in(part.iter().copied()))
                .returning_col(Grants::Id)
                .to_owned();
            for r in w.txn().query_all(&stmt).await? {
                reserved.insert(r.try_get("", "id")?);
            }
        }
        drop_lost(&mut chunk, &reserved);
        let evs = queue_deliveries(w, n, &chunk.deliveries, now_ms).await?;
        let mut lock = Query::select();
        lock.columns([
            Notifications::State,
            Notifications::Plan,
            Notifications::PlanCursor,
            Notifications::Pending,
        ])
        .from(Notifications::Table)
        .and_where(Expr::col(Notifications::Id).eq(n.id.clone()));
        if w.postgres {
            lock.lock(LockType::Update);
        }
        let row = w
            .txn()
            .query_one(&lock)
            .await?
            .ok_or_else(|| Error::Internal("a planned notification vanished".into()))?;
        let state = NotificationState::from_code(row.try_get("", "state")?)?;
        let at = cursor_of(row.try_get::<Option<String>>("", "plan_cursor")?.as_deref());
        if at != *from {
            return Ok(Applied::Moved);
        }
        if !state.is_open() {
            return Ok(Applied::Closed);
        }
        let mut plan = plan_of(&row.try_get::<String>("", "plan")?)?;
        merge(&mut plan, &chunk.counts);
        let pending: i64 = row.try_get::<i64>("", "pending")? + chunk.deliveries.len() as i64;
        let done = *to == Cursor::Done;
        let complete = done && pending == 0;
        let mut update = Query::update();
        update
            .table(Notifications::Table)
            .value(Notifications::Plan, plan_json(&plan)?)
            .value(Notifications::Pending, pending)
            .value(Notifications::PlanCursor, cursor_json(to)?)
            .value(Notifications::Planning, i32::from(!done))
            .and_where(Expr::col(Notifications::Id).eq(n.id.clone()));
        if complete {
            update
                .value(Notifications::State, NotificationState::Completed.code())
                .value(Notifications::CompletedAt, now_ms);
        }
        w.txn().execute(&update).await?;
        events::append(w, evs, now_ms).await?;
        Ok(Applied::Queued(chunk.deliveries.len() as u64))
    }

    /// Marks a closed notification's planning finished (nothing more will be queued).
    pub(crate) async fn stop_planning(&self, id: &str) -> Result<()> {
        let w = self.write().await?;
        let stmt = Statement::from_sql_and_values(
            self.db().get_database_backend(),
            "UPDATE notifications SET planning = 0 WHERE id = $1",
            [id.into()],
        );
        w.txn().execute_raw(stmt).await?;
        w.commit().await
    }
}
