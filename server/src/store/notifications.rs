//! Notifications: the intent of a send (the row, its audience, where planning starts), the
//! queuing of a planned chunk's deliveries, reads, counts and listing.

use std::collections::{BTreeMap, HashMap};

use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, OnConflict};
use sea_orm::sea_query::{Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::Store;
use super::codes::{Code, values};
use super::planning::{cursor_json, spec_json};
use super::schema::{Deliveries, Notifications};
use crate::domain::event::NewEvent;
use crate::domain::notification::{Notification, PlanCounts};
use crate::domain::plan::NewDelivery;
use crate::domain::planning::{Cursor, Spec};
use crate::domain::polite::Polite;
use crate::domain::vocab::{
    DeliveryState, EventKind, ExclusionReason, MessageTag, NotificationState,
};
use crate::error::{Error, Result};

/// A notification to create: the row, its rendered Meta message, and what its planner needs.
#[derive(Debug, Clone)]
pub(crate) struct NewNotification {
    pub(crate) notification: Notification,
    /// Meta's `message` object, rendered by `messenger::wire`.
    pub(crate) message: String,
    /// The audience to plan (none for a dry run, planned before it is stored).
    pub(crate) spec: Option<Spec>,
    /// The creating call's W3C `traceparent`, when it was traced.
    pub(crate) trace_parent: Option<String>,
}

#[derive(FromQueryResult)]
struct NotificationRow {
    id: String,
    page_id: String,
    request_id: String,
    request_hash: String,
    topic_key: String,
    state: i32,
    plan: String,
    rolling_title: Option<String>,
    scheduled_at: i64,
    created_at: i64,
    completed_at: Option<i64>,
    message_tag: Option<i32>,
    created_by: Option<String>,
    planning: i32,
    polite: Option<String>,
}

/// The plan as stored: JSON with exclusion reasons by their codes.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct StoredPlan {
    grant_sends: i64,
    window_sends: i64,
    tag_sends: i64,
    exclusions: BTreeMap<i32, i64>,
    #[serde(default)]
    deferred_by_cap: i64,
    #[serde(default)]
    deferred_by_quiet: i64,
}

pub(super) fn plan_json(p: &PlanCounts) -> Result<String> {
    let stored = StoredPlan {
        grant_sends: p.grant_sends,
        window_sends: p.window_sends,
        tag_sends: p.tag_sends,
        exclusions: p.exclusions.iter().map(|(r, n)| (r.code(), *n)).collect(),
        deferred_by_cap: p.deferred_by_cap,
        deferred_by_quiet: p.deferred_by_quiet,
    };
    serde_json::to_string(&stored).map_err(|e| Error::Internal(format!("plan: {e}")))
}

pub(super) fn plan_of(json: &str) -> Result<PlanCounts> {
    let p: StoredPlan = serde_json::from_str(json).unwrap_or_default();
    Ok(PlanCounts {
        grant_sends: p.grant_sends,
        window_sends: p.window_sends,
        tag_sends: p.tag_sends,
        exclusions: p
            .exclusions
            .into_iter()
            .map(|(c, n)| Ok((ExclusionReason::from_code(c)?, n)))
            .collect::<Result<_>>()?,
        deferred_by_cap: p.deferred_by_cap,
        deferred_by_quiet: p.deferred_by_quiet,
    })
}

/// The stored form of a notification's politeness.
pub(super) fn polite_json(p: &Polite) -> Result<String> {
    serde_json::to_string(p).map_err(|e| Error::Internal(format!("politeness: {e}")))
}

/// A notification's politeness as stored (none before politeness existed).
pub(crate) fn polite_of(json: Option<&str>) -> Polite {
    json.and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}

impl TryFrom<NotificationRow> for Notification {
    type Error = Error;
    fn try_from(r: NotificationRow) -> Result<Self> {
        Ok(Notification {
            state: NotificationState::from_code(r.state)?,
            plan: plan_of(&r.plan)?,
            planning: r.planning != 0,
            message_tag: r.message_tag.map(MessageTag::from_code).transpose()?,
            id: r.id,
            page_id: r.page_id,
            request_id: r.request_id,
            request_hash: r.request_hash,
            topic_key: r.topic_key,
            rolling_title: r.rolling_title,
            scheduled_ms: r.scheduled_at,
            created_ms: r.created_at,
            completed_ms: r.completed_at,
            created_by: r.created_by.unwrap_or_default(),
            polite: polite_of(r.polite.as_deref()),
        })
    }
}

fn notification_select() -> SelectStatement {
    Query::select()
        .columns([
            Notifications::Id,
            Notifications::PageId,
            Notifications::RequestId,
            Notifications::RequestHash,
            Notifications::TopicKey,
            Notifications::State,
            Notifications::Plan,
            Notifications::RollingTitle,
            Notifications::ScheduledAt,
            Notifications::CreatedAt,
            Notifications::CompletedAt,
            Notifications::MessageTag,
            Notifications::CreatedBy,
            Notifications::Planning,
            Notifications::Polite,
        ])
        .from(Notifications::Table)
        .to_owned()
}

impl Store {
    async fn notifications_where(&self, stmt: SelectStatement) -> Result<Vec<Notification>> {
        let rows =
            NotificationRow::find_by_statement(self.db().get_database_backend().build(&stmt))
                .all(self.db())
                .await?;
        rows.into_iter().map(Notification::try_from).collect()
    }

    /// The notification a caller created with `request_id`.
    pub(crate) async fn notification_by_request(
        &self,
        page_id: &str,
        request_id: &str,
    ) -> Result<Option<Notification>> {
        let stmt = notification_select()
            .and_where(Expr::col(Notifications::PageId).eq(page_id))
            .and_where(Expr::col(Notifications::RequestId).eq(request_id))
            .to_owned();
        Ok(self.notifications_where(stmt).await?.into_iter().next())
    }

    /// A notification by id.
    pub(crate) async fn notification(&self, id: &str) -> Result<Option<Notification>> {
        let stmt = notification_select()
            .and_where(Expr::col(Notifications::Id).eq(id))
            .to_owned();
        Ok(self.notifications_where(stmt).await?.into_iter().next())
    }

    /// A page's notifications, newest first, after the one with id `before` (ids are UUID v7,
    /// so they sort by creation).
    pub(crate) async fn list_notifications(
        &self,
        page_id: &str,
        states: &[NotificationState],
        before: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Notification>> {
        let mut stmt = notification_select();
        stmt.and_where(Expr::col(Notifications::PageId).eq(page_id));
        if !states.is_empty() {
            stmt.and_where(Expr::col(Notifications::State).is_in(values(states)));
        }
        if let Some(b) = before {
            stmt.and_where(Expr::col(Notifications::Id).lt(b));
        }
        stmt.order_by(Notifications::Id, Order::Desc).limit(limit);
        self.notifications_where(stmt).await
    }

    /// Deliveries of notifications per state.
    pub(crate) async fn delivery_counts(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, HashMap<DeliveryState, i64>>> {
        let stmt = Query::select()
            .columns([Deliveries::NotificationId, Deliveries::State])
            .expr_as(Expr::col(Asterisk).count(), Alias::new("n"))
            .from(Deliveries::Table)
            .and_where(Expr::col(Deliveries::NotificationId).is_in(ids.iter().cloned()))
            .group_by_col(Deliveries::NotificationId)
            .group_by_col(Deliveries::State)
            .to_owned();
        let mut out: HashMap<String, HashMap<DeliveryState, i64>> = HashMap::new();
        for r in self.db().query_all(&stmt).await? {
            out.entry(r.try_get("", "notification_id")?)
                .or_default()
                .insert(
                    DeliveryState::from_code(r.try_get("", "state")?)?,
                    r.try_get("", "n")?,
                );
        }
        Ok(out)
    }

    /// Stores the intent: the notification and what its planner needs (the audience, the
    /// cursor at its start), in one short transaction whatever the audience's size; the
    /// deliveries are queued by chunks afterwards ([`Store::apply_plan_chunk`]). Returns
    /// `None` when a concurrent call created the same request first.
    pub(crate) async fn create_notification(
        &self,
        n: NewNotification,
    ) -> Result<Option<Notification>> {
        let w = self.write().await?;
        let row = &n.notification;
        let (audience, planning, cursor) = match &n.spec {
            Some(spec) => (
                Some(spec_json(spec)?),
                1,
                Some(cursor_json(&Cursor::start(&spec.ask(row.scheduled_ms)))?),
            ),
            None => (None, 0, None),
        };
        let insert = Query::insert()
            .into_table(Notifications::Table)
            .columns([
                Notifications::Id,
                Notifications::PageId,
                Notifications::RequestId,
                Notifications::RequestHash,
                Notifications::TopicKey,
                Notifications::Message,
                Notifications::State,
                Notifications::Plan,
                Notifications::RollingTitle,
                Notifications::ScheduledAt,
                Notifications::CreatedAt,
                Notifications::CompletedAt,
                Notifications::MessageTag,
                Notifications::CreatedBy,
                Notifications::TraceParent,
                Notifications::Pending,
                Notifications::Audience,
                Notifications::Planning,
                Notifications::PlanCursor,
                Notifications::Polite,
            ])
            .values_panic([
                row.id.clone().into(),
                row.page_id.clone().into(),
                row.request_id.clone().into(),
                row.request_hash.clone().into(),
                row.topic_key.clone().into(),
                n.message.clone().into(),
                row.state.code().into(),
                plan_json(&row.plan)?.into(),
                row.rolling_title.clone().into(),
                row.scheduled_ms.into(),
                row.created_ms.into(),
                row.completed_ms.into(),
                row.message_tag.map(Code::code).into(),
                row.created_by.clone().into(),
                n.trace_parent.clone().into(),
                0i64.into(),
                audience.into(),
                planning.into(),
                cursor.into(),
                polite_json(&row.polite)?.into(),
            ])
            .on_conflict(
                OnConflict::columns([Notifications::PageId, Notifications::RequestId])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        if w.txn().execute(&insert).await?.rows_affected() == 0 {
            return Ok(None);
        }
        w.commit().await?;
        Ok(Some(n.notification))
    }
}

/// Inserts a chunk's deliveries, due at the notification's scheduled time, and returns their
/// QUEUED events.
pub(super) async fn queue_deliveries(
    w: &super::WriteTxn<'_>,
    n: &Notification,
    deliveries: &[NewDelivery],
    now_ms: i64,
) -> Result<Vec<NewEvent>> {
    let mut evs = Vec::with_capacity(deliveries.len());
    for chunk in deliveries.chunks(500) {
        let mut insert = Query::insert();
        insert
            .into_table(Deliveries::Table)
            .columns([
                Deliveries::NotificationId,
                Deliveries::PageId,
                Deliveries::RecipientId,
                Deliveries::Psid,
                Deliveries::TopicKey,
                Deliveries::GrantId,
                Deliveries::Path,
                Deliveries::Rule,
                Deliveries::State,
                Deliveries::Attempts,
                Deliveries::Ambiguous,
                Deliveries::NextAttemptAt,
                Deliveries::CreatedAt,
                Deliveries::QuietZone,
            ])
            .returning(Query::returning().columns([Deliveries::Id, Deliveries::RecipientId]));
        for d in chunk {
            insert.values_panic([
                n.id.clone().into(),
                n.page_id.clone().into(),
                d.recipient_id.into(),
                d.psid.clone().into(),
                n.topic_key.clone().into(),
                d.grant_id.into(),
                d.path.code().into(),
                d.rule.clone().into(),
                DeliveryState::Queued.code().into(),
                0.into(),
                0.into(),
                d.deferred
                    .as_ref()
                    .map_or(n.scheduled_ms, |x| Ord::max(x.until_ms, n.scheduled_ms))
                    .into(),
                now_ms.into(),
                d.quiet_zone.clone().into(),
            ]);
        }
        let by_recipient: HashMap<i64, &NewDelivery> =
            chunk.iter().map(|d| (d.recipient_id, d)).collect();
        for row in w.txn().query_all(&insert).await? {
            let id: i64 = row.try_get("", "id")?;
            let rid: i64 = row.try_get("", "recipient_id")?;
            let Some(d) = by_recipient.get(&rid) else {
                continue;
            };
            let mut ev = NewEvent::new(EventKind::Queued, n.page_id.clone());
            ev.topic_key = Some(n.topic_key.clone());
            ev.notification_id = Some(n.id.clone());
            ev.delivery_id = Some(id);
            ev.psid = Some(d.psid.clone());
            ev.grant_id = d.grant_id;
            ev.path = Some(d.path);
            ev.rule = Some(d.rule.clone());
            ev.actor = Some(n.created_by.clone());
            if let Some(x) = &d.deferred {
                let mut deferred = ev.clone();
                deferred.kind = EventKind::Deferred;
                deferred.rule = Some(x.rule.clone());
                deferred.not_before_ms = Some(Ord::max(x.until_ms, n.scheduled_ms));
                evs.push(ev);
                evs.push(deferred);
                continue;
            }
            evs.push(ev);
        }
    }
    Ok(evs)
}
